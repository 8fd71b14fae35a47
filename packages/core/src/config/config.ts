import path from 'node:path';
import type { z } from 'zod';
import { envSchema, type ParsedEnv } from './config.schema.ts';

export interface LibrarySpec {
  name: string;
  root: string;
}

/** The resolved configuration every app receives. Paths are absolute. */
export interface Config {
  env: ParsedEnv;
  dataDir: string;
  /** `{ kind: 'sqlite', file }` or `{ kind: 'postgres', url }`. */
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };
  /** Libraries from LIBRARIES, or BASE_PATH as `main`; empty = none configured. */
  libraries: LibrarySpec[];
  thumbnailsDir: string;
  videoDir: string;
  gifsDir: string;
  previewClipsDir: string;
  bind: { host: string; port: number };
  natsUrl: string | undefined;
  busPrefix: string;
  logLevel: ParsedEnv['LOG_LEVEL'];
  secretKey: string | undefined;
  excludedDirs: string[];
  corsAllowedOrigins: string[];
  faces: { apiBaseUrl: string | undefined };
  ollama: {
    primaryUrl: string | undefined;
    primaryModel: string | undefined;
    fallbackUrl: string | undefined;
    fallbackModel: string | undefined;
  };
  openrouter: { apiKey: string | undefined; defaultModel: string | undefined };
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function issuesToProblems(error: z.ZodError): { variable: string; message: string }[] {
  return error.issues.map((issue) => ({
    variable: String(issue.path[0] ?? '(env)'),
    message: issue.message,
  }));
}

/**
 * Parse a database URL: a `postgres://` / `postgresql://` URL, a `sqlite:` / `file:` prefixed path
 * (`sqlite:///abs.db`, `sqlite://rel.db`, `sqlite:rel.db`, `sqlite::memory:`; a `?query` after a
 * prefixed path is dropped), or a bare file path. Relative paths resolve against `cwd`.
 */
export function parseDatabaseUrl(
  url: string,
  cwd: string,
): { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string } {
  const value = url.trim();
  if (/^postgres(ql)?:\/\//i.test(value)) return { kind: 'postgres', url: value };
  const prefixed = /^(sqlite|file):/i.test(value);
  if (!prefixed && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new ConfigError([
      {
        variable: 'DATABASE_URL',
        message: `unsupported scheme in "${value}" (use a file path, sqlite:PATH or postgres://)`,
      },
    ]);
  }
  const file = prefixed ? value.replace(/^(sqlite|file):(\/\/)?/i, '').replace(/\?.*$/, '') : value;
  if (!file) throw new ConfigError([{ variable: 'DATABASE_URL', message: 'names no file' }]);
  return { kind: 'sqlite', file: file === ':memory:' ? file : path.resolve(cwd, file) };
}

/**
 * Validate a raw environment and resolve it into a `Config`.
 * Empty strings count as unset. Throws `ConfigError` naming every bad variable.
 */
export function parseConfig(rawEnv: Record<string, string | undefined>, cwd = process.cwd()): Config {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = rawEnv[key];
    if (value !== undefined && value.trim() !== '') cleaned[key] = value;
  }
  const problems: { variable: string; message: string }[] = [];
  let database: Config['database'] | undefined;
  if (cleaned.DATABASE_URL !== undefined) {
    try {
      database = parseDatabaseUrl(cleaned.DATABASE_URL, cwd);
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else throw err;
    }
  }
  const result = envSchema.safeParse(cleaned);
  if (!result.success) problems.unshift(...issuesToProblems(result.error));
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  const env = result.data;

  const dataDir = path.resolve(cwd, env.DATA_DIR);
  const under = (value: string | undefined, name: string) =>
    path.resolve(cwd, value ?? path.join(dataDir, name));

  let libraries: LibrarySpec[] = [];
  if (env.LIBRARIES && env.LIBRARIES.length > 0) {
    libraries = env.LIBRARIES.map((l) => ({ name: l.name, root: path.resolve(cwd, l.root) }));
  } else if (env.BASE_PATH) {
    libraries = [{ name: 'main', root: path.resolve(cwd, env.BASE_PATH) }];
  }

  return {
    env,
    dataDir,
    database: database ?? { kind: 'sqlite', file: path.join(dataDir, 'lumen.db') },
    libraries,
    thumbnailsDir: under(env.THUMBNAILS, 'thumbnails'),
    videoDir: under(env.VIDEO_PATH, 'video'),
    gifsDir: under(env.GIFS_DIRECTORY, 'gifs'),
    previewClipsDir: under(env.PREVIEW_CLIPS_DIRECTORY, 'preview-clips'),
    bind: env.BIND_URL,
    natsUrl: env.NATS_URL,
    busPrefix: env.BUS_PREFIX,
    logLevel: env.LOG_LEVEL,
    secretKey: env.SECRET_KEY,
    excludedDirs: env.EXCLUDED_DIRS,
    corsAllowedOrigins: env.CORS_ALLOWED_ORIGINS,
    faces: { apiBaseUrl: env.APOLLO_FACE_API_BASE_URL ?? env.APOLLO_API_BASE_URL },
    ollama: {
      primaryUrl: env.OLLAMA_PRIMARY_URL ?? env.OLLAMA_URL,
      primaryModel: env.OLLAMA_PRIMARY_MODEL ?? env.OLLAMA_MODEL,
      fallbackUrl: env.OLLAMA_FALLBACK_URL,
      fallbackModel: env.OLLAMA_FALLBACK_MODEL,
    },
    openrouter: {
      apiKey: env.OPENROUTER_API_KEY,
      defaultModel: env.OPENROUTER_DEFAULT_MODEL ?? env.OPENROUTER_MODEL,
    },
  };
}
