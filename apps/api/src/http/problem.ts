/**
 * The one catalog of HTTP errors. Every error response leaves as
 * `application/problem+json` (RFC 9457) with a stable `type` URI from here:
 * clients switch on `type`, never on `title` or `detail`.
 */

export const PROBLEM_BASE_URI = 'https://lumen.dev/problems';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const problemCatalog = {
  'bad-request': { status: 400, title: 'Bad request' },
  validation: { status: 400, title: 'Invalid request' },
  /** A client path refused by core's path rules; `detail` starts with the PathError code (`path.traversal: ...`). */
  'invalid-path': { status: 400, title: 'Invalid path' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  /** An upload whose first bytes look like HTML, SVG/XML or PDF (a browser could run it), even behind an image header. */
  'scriptable-content': { status: 415, title: 'The file could be run as HTML or script' },
  /** No thumbnail or preview can be made of this file (its `.unsupported` sentinel exists, or decoding failed). */
  'thumbnail-unsupported': { status: 415, title: 'No thumbnail can be made of this file' },
  /** A `Range` that starts past the end of the file; the response carries `Content-Range` with `*` and the file size. */
  'range-not-satisfiable': { status: 416, title: 'Range not satisfiable' },
  /** The transcoder gave up on this video's stream or clip for good; `detail` holds its ffmpeg error. */
  'video-unplayable': { status: 422, title: 'The video cannot be streamed' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'Service unavailable' },
  /** AI insights (or the backend a request asks for) are off: `detail` names the setting to set. */
  'insights-not-configured': { status: 503, title: 'AI insights are not configured' },
  /** No LLM backend could be reached (primary and fallback); `detail` gives each reason. */
  'llm-unavailable': { status: 503, title: 'The LLM backend cannot be reached' },
  /** The LLM backend answered with an error (unknown model, its own failure) or broke off. */
  'llm-error': { status: 502, title: 'The LLM backend answered with an error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemKind = keyof typeof problemCatalog;

/** One bad input field: where it was (`body`, `query`, `path`, `header`), its name and what is wrong. */
export interface FieldError {
  in: string;
  name: string;
  message: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
}

export function problemType(kind: ProblemKind): string {
  return `${PROBLEM_BASE_URI}/${kind}`;
}

/**
 * Throw this from a route, middleware or service to answer with a problem.
 * `headers` are added to the response (e.g. `Retry-After`, `WWW-Authenticate`).
 */
export class ProblemError extends Error {
  readonly status: number;

  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
    this.status = problemCatalog[kind].status;
  }
}

/** Kinds only ever chosen on purpose, never for a bare status. */
const SPECIFIC_KINDS = new Set<ProblemKind>([
  'validation',
  'insights-not-configured',
  'llm-unavailable',
  'llm-error',
]);

/** Maps an HTTP status to the catalog entry used when only a status is known (e.g. a hono HTTPException). */
export function kindForStatus(status: number): ProblemKind {
  const exact = (Object.keys(problemCatalog) as ProblemKind[]).find(
    (kind) => !SPECIFIC_KINDS.has(kind) && problemCatalog[kind].status === status,
  );
  if (exact) return exact;
  return status >= 500 ? 'internal' : 'bad-request';
}

export function problemBody(
  kind: ProblemKind,
  detail: string,
  opts: { instance?: string; errors?: FieldError[] } = {},
): ProblemBody {
  const entry = problemCatalog[kind];
  const body: ProblemBody = { type: problemType(kind), title: entry.title, status: entry.status, detail };
  if (opts.instance !== undefined) body.instance = opts.instance;
  if (opts.errors !== undefined && opts.errors.length > 0) body.errors = opts.errors;
  return body;
}

/** A complete problem+json `Response`. `instance` is the request path. */
export function problemResponse(
  kind: ProblemKind,
  detail: string,
  opts: { instance?: string; errors?: FieldError[]; headers?: Record<string, string> } = {},
): Response {
  const body = problemBody(kind, detail, opts);
  const headers = new Headers(opts.headers);
  headers.set('Content-Type', PROBLEM_CONTENT_TYPE);
  return new Response(JSON.stringify(body), { status: body.status, headers });
}
