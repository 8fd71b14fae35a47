/**
 * Errors of the face-inference service. Each leaves as `application/problem+json`
 * (RFC 9457) with a stable `type` like the rest of Lumen, plus the contract's
 * `error` code and `message` (docs/faces.md: clients read the status, then `error`).
 */

export const PROBLEM_BASE_URI = 'https://lumen.dev/problems/face-inference';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const faceProblems = {
  bad_image: { status: 400, title: 'The body is not a decodable image' },
  bad_request: { status: 400, title: 'Invalid request' },
  not_found: { status: 404, title: 'Not found' },
  too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  internal: { status: 500, title: 'Internal server error' },
  loading: { status: 503, title: 'The model is loading' },
  load_failed: { status: 503, title: 'The model failed to load' },
  busy: { status: 503, title: 'The model is busy' },
} as const satisfies Record<string, { status: number; title: string }>;

export type FaceProblem = keyof typeof faceProblems;

export interface FaceProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  error: FaceProblem;
  message: string;
}

export function problemResponse(
  kind: FaceProblem,
  detail: string,
  headers: Record<string, string> = {},
): Response {
  const entry = faceProblems[kind];
  const body: FaceProblemBody = {
    type: `${PROBLEM_BASE_URI}/${kind.replaceAll('_', '-')}`,
    title: entry.title,
    status: entry.status,
    detail,
    error: kind,
    message: detail,
  };
  const h = new Headers(headers);
  h.set('Content-Type', PROBLEM_CONTENT_TYPE);
  return new Response(JSON.stringify(body), { status: entry.status, headers: h });
}

/** Throw from a handler to answer with a problem. */
export class FaceProblemError extends Error {
  constructor(
    readonly kind: FaceProblem,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'FaceProblemError';
  }
}
