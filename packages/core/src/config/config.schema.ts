import { z } from 'zod';

/**
 * Every environment variable the product reads, with the defaults of SPEC.md.
 * `parseConfig` turns a raw env into a typed, resolved `Config`; a bad value
 * throws `ConfigError` naming each bad variable.
 */

const intIn = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const numIn = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+(\.\d+)?$/, 'must be a number')
    .transform(Number)
    .pipe(z.number().min(min).max(max));

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(v), 'must be true or false')
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const httpUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL')
  .transform((v) => v.replace(/\/+$/, ''));

const natsUrl = z
  .string()
  .trim()
  .refine(
    (v) => v.split(',').every((part) => /^(nats|tls|ws|wss):\/\/[^\s/]+(:\d+)?\/?$/.test(part.trim())),
    'must be nats://host:port (comma-separated for a cluster)',
  );

const nonEmpty = z.string().trim().min(1, 'must not be empty');

export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/**
 * `RUST_LOG`-style level: `info`, `DEBUG`, `off` (= silent), or a directive list such as
 * `info,lumen=debug` where the bare entry is the level and `target=level` entries are accepted
 * (validated) but only the bare one applies. No bare entry means `info`.
 */
const logLevel = z.string().transform((v, ctx): LogLevel => {
  const toLevel = (s: string) => {
    const lower = s.trim().toLowerCase();
    const level = lower === 'off' ? 'silent' : lower;
    return (logLevels as readonly string[]).includes(level) ? (level as LogLevel) : undefined;
  };
  let result: LogLevel = 'info';
  for (const part of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const level = toLevel(eq >= 0 ? part.slice(eq + 1) : part);
    if (!level || (eq >= 0 && !/^[\w:.-]+$/.test(part.slice(0, eq).trim()))) {
      ctx.addIssue({
        code: 'custom',
        message: `"${part}" is not a log level (use one of ${logLevels.join(', ')}, or off)`,
      });
      return z.NEVER;
    }
    if (eq < 0) result = level;
  }
  return result;
});

/** `host:port`, `:port`, `port` or `http://host:port`. */
const bindUrl = z
  .string()
  .trim()
  .transform((v, ctx) => {
    const m = /^(?:https?:\/\/)?(?:(\[[^\]]+\]|[^:/\s]*):)?(\d{1,5})\/?$/.exec(v);
    const port = m ? Number(m[2]) : Number.NaN;
    if (!m || port > 65535) {
      ctx.addIssue({ code: 'custom', message: 'must be host:port, e.g. 0.0.0.0:8088' });
      return z.NEVER;
    }
    const host = m[1] ? m[1].replace(/^\[|\]$/g, '') : '0.0.0.0';
    return { host, port };
  });

const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
);

/** `name=/root,name2=/root2`; a relative root is resolved against the working directory. */
const librariesSpec = z.string().transform((v, ctx) => {
  const out: { name: string; root: string }[] = [];
  let bad = false;
  for (const part of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const name = eq > 0 ? part.slice(0, eq).trim() : '';
    const root = eq > 0 ? part.slice(eq + 1).trim() : '';
    if (!name || !root) {
      bad = true;
      ctx.addIssue({ code: 'custom', message: `entry "${part}" must be name=/path/to/root` });
      continue;
    }
    if (!/^[\w .-]{1,64}$/.test(name)) {
      bad = true;
      ctx.addIssue({
        code: 'custom',
        message: `library name "${name}" may use letters, digits, space, _ . - only`,
      });
      continue;
    }
    if (out.some((l) => l.name.toLowerCase() === name.toLowerCase())) {
      bad = true;
      ctx.addIssue({ code: 'custom', message: `library name "${name}" is given twice` });
      continue;
    }
    out.push({ name, root });
  }
  if (!bad && out.length === 0) ctx.addIssue({ code: 'custom', message: 'lists no library' });
  return out;
});

export const envSchema = z.object({
  // Storage and paths
  DATA_DIR: nonEmpty.default('./data'),
  DATABASE_URL: nonEmpty.optional(),
  BASE_PATH: nonEmpty.optional(),
  LIBRARIES: librariesSpec.optional(),
  THUMBNAILS: nonEmpty.optional(),
  VIDEO_PATH: nonEmpty.optional(),
  GIFS_DIRECTORY: nonEmpty.optional(),
  PREVIEW_CLIPS_DIRECTORY: nonEmpty.optional(),
  EXCLUDED_DIRS: csv.default([]),

  // HTTP and auth
  BIND_URL: bindUrl.default({ host: '0.0.0.0', port: 8088 }),
  SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  CORS_ALLOWED_ORIGINS: csv.default([]),
  /**
   * The watcher's and the transcoder's own small HTTP port for `/metrics` and `/health` when they run
   * as their own processes (the api serves both on BIND_URL). Unset: no port.
   */
  METRICS_BIND_URL: bindUrl.optional(),
  LOGIN_MAX_FAILURES_PER_MINUTE: intIn(1, 10_000).default(10),
  UPLOAD_MAX_BYTES: intIn(1, Number.MAX_SAFE_INTEGER).default(2 * 1024 * 1024 * 1024),

  // Image decodes (api and watcher): memory all decodes in flight in one process may hold, in MiB
  // (sized for a 1 GiB container), and how long a request waits for room before it is refused (503).
  DECODE_MEMORY_BUDGET_MB: intIn(16, 1024 * 1024).default(384),
  DECODE_QUEUE_TIMEOUT_MS: intIn(0, 3_600_000).default(10_000),

  // Bus
  NATS_URL: natsUrl.optional(),
  BUS_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'may use letters, digits, _ and - (at most 32)')
    .default('lumen'),

  // Logs and tracing
  LOG_LEVEL: logLevel.default('info'),
  OTLP_OTLS_ENDPOINT: httpUrl.optional(),

  // Watcher (SPEC 2, 3)
  WATCH_QUICK_INTERVAL_SECONDS: numIn(0.1, 86_400).default(60),
  WATCH_FULL_INTERVAL_SECONDS: numIn(1, 30 * 86_400).default(3600),
  /**
   * Watcher replicas: one at a time holds the lease and watches every library; the others stand by
   * and take over within this long after the holder dies (at once after it stops cleanly).
   */
  WATCHER_LEASE_SECONDS: numIn(1, 3600).default(30),
  /** This process's name in leases and /libraries (default: host name and pid). */
  REPLICA_ID: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'may use letters, digits, _ . : and - (at most 128)')
    .optional(),
  THUMB_SIZE: intIn(16, 2048).default(200),
  PREVIEW_SIZE: intIn(256, 8192).default(1440),
  INGEST_CONCURRENCY: intIn(1, 64).optional(),
  INGEST_FILE_TIMEOUT_SECONDS: numIn(1, 3600).default(120),
  IMAGE_EXIF_MISSING_SCAN_PAGE_SIZE: intIn(1, 100_000).default(500),
  IMAGE_EXIF_MISSING_DELETE_CAP_PER_TICK: intIn(0, 1_000_000).default(200),
  MAINTENANCE_DRY_RUN: bool.default(false),
  /** A file marked missing is deleted only after this long (and only on ticks its library is Online). */
  MISSING_GRACE_SECONDS: intIn(0, 10 * 366 * 86_400).default(7 * 86_400),
  /** The mass-disappearance brake: more than MISSING_SUSPECT_SHARE of at least this many checked rows. */
  MISSING_SUSPECT_MIN_CHECKED: intIn(1, 1_000_000).default(20),
  MISSING_SUSPECT_SHARE: numIn(0, 1).default(0.5),
  REQUIRE_LIBRARY_MARKER: bool.default(false),

  // Transcoder (SPEC 5)
  TRANSCODE_CONCURRENCY: intIn(1, 64).optional(),
  TRANSCODE_MAX_ATTEMPTS: intIn(1, 100).default(3),
  /**
   * A job whose transcoder stops heartbeating (`working()` every third of this) is handed to another
   * replica after this long: a crashed transcoder's job is redelivered within it.
   */
  TRANSCODE_ACK_WAIT_SECONDS: numIn(3, 3600).default(15),

  // Built-in face inference (apps/face-inference; docs/faces-builtin.md)
  /** `builtin`: `pnpm start` runs apps/face-inference as a child on loopback and points the faces client at it. */
  FACE_INFERENCE: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['off', 'builtin']))
    .default('off'),
  FACE_INFERENCE_HOST: nonEmpty.default('127.0.0.1'),
  FACE_INFERENCE_PORT: intIn(0, 65535).default(8090),
  FACE_INFERENCE_MAX_BODY_MB: numIn(0.001, 1024).default(32),
  /** Longest side an image is decoded to before detection; boxes are still reported in the full image's pixels. */
  FACE_INFERENCE_MAX_SIDE: intIn(64, 16384).default(2048),
  /** A request that waits longer than this for the model (one image at a time) gets 503 + Retry-After. */
  FACE_INFERENCE_QUEUE_TIMEOUT_SEC: numIn(0.05, 3600).default(30),

  // Faces (SPEC 6)
  APOLLO_API_BASE_URL: httpUrl.optional(),
  APOLLO_FACE_API_BASE_URL: httpUrl.optional(),
  FACE_DETECT_CONCURRENCY: intIn(1, 256).default(8),
  FACE_DETECT_TIMEOUT_SEC: numIn(1, 3600).default(60),
  FACE_HASH_BACKFILL_MAX_PER_TICK: intIn(0, 1_000_000).default(2000),
  FACE_BACKLOG_MAX_PER_TICK: intIn(0, 100_000).default(64),
  /** Unset: the model's own threshold (faceThresholdsFor: 0.4 as SPEC says, 0.65 for the built-in). */
  FACE_AUTOBIND_MIN_COS: numIn(-1, 1).optional(),

  // Insights (SPEC 7)
  OLLAMA_URL: httpUrl.optional(),
  OLLAMA_MODEL: nonEmpty.optional(),
  OLLAMA_PRIMARY_URL: httpUrl.optional(),
  OLLAMA_PRIMARY_MODEL: nonEmpty.optional(),
  OLLAMA_FALLBACK_URL: httpUrl.optional(),
  OLLAMA_FALLBACK_MODEL: nonEmpty.optional(),
  OPENROUTER_API_KEY: nonEmpty.optional(),
  OPENROUTER_BASE_URL: httpUrl.default('https://openrouter.ai/api/v1'),
  OPENROUTER_MODEL: nonEmpty.optional(),
  /** The model chat uses on OpenRouter when a request names none (OPENROUTER_MODEL is the older name). */
  OPENROUTER_DEFAULT_MODEL: nonEmpty.optional(),
  OPENROUTER_ALLOWED_MODELS: csv.default([]),
  /** Sent to OpenRouter as `HTTP-Referer` and `X-Title` (its app attribution). */
  HTTP_REFERER: httpUrl.optional(),
  APP_TITLE: nonEmpty.default('Lumen'),
  AGENTIC_MAX_ITERATIONS: intIn(1, 100).default(10),
  AGENTIC_CHAT_MAX_ITERATIONS: intIn(1, 100).default(6),
  SMS_API_URL: httpUrl.optional(),
  SMS_API_TOKEN: nonEmpty.optional(),
  /** Time to open a connection to an LLM backend; past it the call fails over (SPEC 7: 5 s). */
  OLLAMA_CONNECT_TIMEOUT_SECONDS: numIn(0.1, 600).default(5),
  /** Longest silence of an LLM backend: until the response starts and between streamed chunks (120 s). */
  OLLAMA_REQUEST_TIMEOUT_SECONDS: numIn(1, 3600).default(120),
  /** The context window asked of Ollama; a chat is trimmed to `num_ctx - 2048` tokens. */
  OLLAMA_NUM_CTX: intIn(4096, 1_048_576).default(8192),
  /** The Ollama model that embeds conversation summaries (RAG). */
  OLLAMA_EMBED_MODEL: nonEmpty.default('nomic-embed-text'),
  /** Optional online reverse geocoding (a Nominatim base URL); the offline gazetteer answers otherwise. */
  NOMINATIM_URL: httpUrl.optional(),
  /** Bearer token of Apollo's personal-places lookup (APOLLO_API_BASE_URL; docs/insights.md). */
  APOLLO_API_TOKEN: nonEmpty.optional(),
  /** Longest wait for Apollo's personal-places lookup; past it the tool answers the model with an error. */
  APOLLO_PLACES_TIMEOUT_SECONDS: numIn(0.05, 600).default(5),
  /** SSE comment lines keep an idle chat stream open through proxies. */
  INSIGHTS_HEARTBEAT_SECONDS: numIn(0.05, 300).default(15),
});

export type RawEnv = z.input<typeof envSchema>;
export type ParsedEnv = z.output<typeof envSchema>;
