import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  findDotEnv,
  loadConfig,
  parseConfig,
  parseDatabaseUrl,
  parseDotEnv,
} from '../src/index.ts';

const CWD = '/srv/lumen';

function problemsOf(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    parseConfig(env, CWD);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

describe('parseConfig defaults', () => {
  const config = parseConfig({}, CWD);

  it.each([
    ['WATCH_QUICK_INTERVAL_SECONDS', 60],
    ['WATCH_FULL_INTERVAL_SECONDS', 3600],
    ['THUMB_SIZE', 200],
    ['PREVIEW_SIZE', 1440],
    ['DECODE_MEMORY_BUDGET_MB', 384],
    ['DECODE_QUEUE_TIMEOUT_MS', 10_000],
    ['IMAGE_EXIF_MISSING_SCAN_PAGE_SIZE', 500],
    ['IMAGE_EXIF_MISSING_DELETE_CAP_PER_TICK', 200],
    ['FACE_DETECT_CONCURRENCY', 8],
    ['FACE_DETECT_TIMEOUT_SEC', 60],
    ['FACE_HASH_BACKFILL_MAX_PER_TICK', 2000],
    ['FACE_BACKLOG_MAX_PER_TICK', 64],
    ['FACE_AUTOBIND_MIN_COS', undefined],
    ['AGENTIC_MAX_ITERATIONS', 10],
    ['AGENTIC_CHAT_MAX_ITERATIONS', 6],
    ['MAINTENANCE_DRY_RUN', false],
    ['MISSING_GRACE_SECONDS', 604_800],
    ['MISSING_SUSPECT_MIN_CHECKED', 20],
    ['MISSING_SUSPECT_SHARE', 0.5],
    ['LOG_LEVEL', 'info'],
    ['BUS_PREFIX', 'lumen'],
    ['OPENROUTER_BASE_URL', 'https://openrouter.ai/api/v1'],
  ] as const)('%s defaults to %s', (variable, expected) => {
    expect(config.env[variable]).toBe(expected);
  });

  it.each([
    ['dataDir', '/srv/lumen/data'],
    ['thumbnailsDir', '/srv/lumen/data/thumbnails'],
    ['videoDir', '/srv/lumen/data/video'],
    ['gifsDir', '/srv/lumen/data/gifs'],
    ['previewClipsDir', '/srv/lumen/data/preview-clips'],
  ] as const)('%s is derived from DATA_DIR: %s', (field, expected) => {
    expect(config[field]).toBe(expected);
  });

  it('has no libraries, sqlite under DATA_DIR, bind 0.0.0.0:8088, no bus', () => {
    expect(config.libraries).toEqual([]);
    expect(config.database).toEqual({ kind: 'sqlite', file: '/srv/lumen/data/lumen.db' });
    expect(config.bind).toEqual({ host: '0.0.0.0', port: 8088 });
    expect(config.natsUrl).toBeUndefined();
    expect(config.excludedDirs).toEqual([]);
  });

  it('derives every directory from a custom DATA_DIR and honours explicit overrides', () => {
    const c = parseConfig({ DATA_DIR: 'var/lumen', THUMBNAILS: '/fast/thumbs', VIDEO_PATH: 'hls' }, CWD);
    expect(c.dataDir).toBe('/srv/lumen/var/lumen');
    expect(c.database).toEqual({ kind: 'sqlite', file: '/srv/lumen/var/lumen/lumen.db' });
    expect(c.thumbnailsDir).toBe('/fast/thumbs');
    expect(c.videoDir).toBe('/srv/lumen/hls');
    expect(c.gifsDir).toBe('/srv/lumen/var/lumen/gifs');
    expect(c.previewClipsDir).toBe('/srv/lumen/var/lumen/preview-clips');
  });

  it('treats empty and blank values as unset', () => {
    const c = parseConfig({ WATCH_QUICK_INTERVAL_SECONDS: '', LOG_LEVEL: '   ', NATS_URL: '' }, CWD);
    expect(c.env.WATCH_QUICK_INTERVAL_SECONDS).toBe(60);
    expect(c.logLevel).toBe('info');
    expect(c.natsUrl).toBeUndefined();
  });
});

describe('parseConfig valid values', () => {
  it.each([
    [
      { WATCH_QUICK_INTERVAL_SECONDS: '5' },
      (c: ReturnType<typeof parseConfig>) => c.env.WATCH_QUICK_INTERVAL_SECONDS,
      5,
    ],
    [
      { WATCH_QUICK_INTERVAL_SECONDS: ' 0.5 ' },
      (c: ReturnType<typeof parseConfig>) => c.env.WATCH_QUICK_INTERVAL_SECONDS,
      0.5,
    ],
    [
      { FACE_AUTOBIND_MIN_COS: '-0.25' },
      (c: ReturnType<typeof parseConfig>) => c.env.FACE_AUTOBIND_MIN_COS,
      -0.25,
    ],
    [{ MAINTENANCE_DRY_RUN: 'YES' }, (c: ReturnType<typeof parseConfig>) => c.env.MAINTENANCE_DRY_RUN, true],
    [{ MAINTENANCE_DRY_RUN: '0' }, (c: ReturnType<typeof parseConfig>) => c.env.MAINTENANCE_DRY_RUN, false],
    [
      { BIND_URL: '127.0.0.1:9000' },
      (c: ReturnType<typeof parseConfig>) => c.bind,
      { host: '127.0.0.1', port: 9000 },
    ],
    [{ BIND_URL: ':9000' }, (c: ReturnType<typeof parseConfig>) => c.bind, { host: '0.0.0.0', port: 9000 }],
    [{ BIND_URL: '9000' }, (c: ReturnType<typeof parseConfig>) => c.bind, { host: '0.0.0.0', port: 9000 }],
    [
      { BIND_URL: 'http://[::1]:9000/' },
      (c: ReturnType<typeof parseConfig>) => c.bind,
      { host: '::1', port: 9000 },
    ],
    [
      { NATS_URL: 'nats://127.0.0.1:4222' },
      (c: ReturnType<typeof parseConfig>) => c.natsUrl,
      'nats://127.0.0.1:4222',
    ],
    [
      { NATS_URL: 'nats://a:4222,nats://b:4222' },
      (c: ReturnType<typeof parseConfig>) => c.natsUrl,
      'nats://a:4222,nats://b:4222',
    ],
    [{ LOG_LEVEL: 'DEBUG' }, (c: ReturnType<typeof parseConfig>) => c.logLevel, 'debug'],
    [{ LOG_LEVEL: 'off' }, (c: ReturnType<typeof parseConfig>) => c.logLevel, 'silent'],
    [{ LOG_LEVEL: 'warn,lumen_api=debug' }, (c: ReturnType<typeof parseConfig>) => c.logLevel, 'warn'],
    [{ LOG_LEVEL: 'hyper=info' }, (c: ReturnType<typeof parseConfig>) => c.logLevel, 'info'],
    [
      { EXCLUDED_DIRS: '@eaDir, .thumbnails,,' },
      (c: ReturnType<typeof parseConfig>) => c.excludedDirs,
      ['@eaDir', '.thumbnails'],
    ],
    [
      { OLLAMA_URL: 'http://gpu:11434/', OLLAMA_MODEL: 'llava' },
      (c: ReturnType<typeof parseConfig>) => c.ollama,
      {
        primaryUrl: 'http://gpu:11434',
        primaryModel: 'llava',
        fallbackUrl: undefined,
        fallbackModel: undefined,
      },
    ],
    [
      { APOLLO_API_BASE_URL: 'http://apollo:8000', APOLLO_FACE_API_BASE_URL: 'http://faces:9000' },
      (c: ReturnType<typeof parseConfig>) => c.faces.apiBaseUrl,
      'http://faces:9000',
    ],
    [
      { APOLLO_API_BASE_URL: 'http://apollo:8000' },
      (c: ReturnType<typeof parseConfig>) => c.faces.apiBaseUrl,
      'http://apollo:8000',
    ],
    [{ SECRET_KEY: 'x'.repeat(32) }, (c: ReturnType<typeof parseConfig>) => c.secretKey, 'x'.repeat(32)],
  ])('%j', (env, pick, expected) => {
    expect(pick(parseConfig(env, CWD))).toEqual(expected);
  });
});

describe('LIBRARIES vs BASE_PATH', () => {
  it.each([
    [{}, []],
    [{ BASE_PATH: '/photos' }, [{ name: 'main', root: '/photos' }]],
    [{ BASE_PATH: 'photos' }, [{ name: 'main', root: '/srv/lumen/photos' }]],
    [{ LIBRARIES: 'recent=/mnt/recent' }, [{ name: 'recent', root: '/mnt/recent' }]],
    [
      { LIBRARIES: ' recent = /mnt/recent , archive=/mnt/nas/archive/ ' },
      [
        { name: 'recent', root: '/mnt/recent' },
        { name: 'archive', root: '/mnt/nas/archive' },
      ],
    ],
    [{ LIBRARIES: 'Family Photos=./fam' }, [{ name: 'Family Photos', root: '/srv/lumen/fam' }]],
    [{ LIBRARIES: 'odd=/mnt/a=b' }, [{ name: 'odd', root: '/mnt/a=b' }]],
    [{ LIBRARIES: 'recent=/mnt/recent', BASE_PATH: '/photos' }, [{ name: 'recent', root: '/mnt/recent' }]],
  ])('%j -> %j', (env, expected) => {
    expect(parseConfig(env, CWD).libraries).toEqual(expected);
  });
});

describe('DATABASE_URL forms', () => {
  it.each([
    ['postgres://u:p@db:5432/lumen', { kind: 'postgres', url: 'postgres://u:p@db:5432/lumen' }],
    ['postgresql://db/lumen', { kind: 'postgres', url: 'postgresql://db/lumen' }],
    ['POSTGRES://db/lumen', { kind: 'postgres', url: 'POSTGRES://db/lumen' }],
    ['/var/lib/lumen.db', { kind: 'sqlite', file: '/var/lib/lumen.db' }],
    ['lumen.db', { kind: 'sqlite', file: '/srv/lumen/lumen.db' }],
    ['sqlite:///var/lib/lumen.db', { kind: 'sqlite', file: '/var/lib/lumen.db' }],
    ['sqlite://rel/lumen.db', { kind: 'sqlite', file: '/srv/lumen/rel/lumen.db' }],
    ['sqlite:lumen.db', { kind: 'sqlite', file: '/srv/lumen/lumen.db' }],
    ['sqlite://lumen.db?mode=rwc', { kind: 'sqlite', file: '/srv/lumen/lumen.db' }],
    ['file:/tmp/x.db', { kind: 'sqlite', file: '/tmp/x.db' }],
    ['sqlite::memory:', { kind: 'sqlite', file: ':memory:' }],
  ])('%s', (url, expected) => {
    expect(parseDatabaseUrl(url, CWD)).toEqual(expected);
    expect(parseConfig({ DATABASE_URL: url }, CWD).database).toEqual(expected);
  });
});

describe('parseConfig bad values name the variable and the reason', () => {
  it.each([
    [{ WATCH_QUICK_INTERVAL_SECONDS: 'abc' }, 'WATCH_QUICK_INTERVAL_SECONDS', /must be a number/],
    [{ WATCH_QUICK_INTERVAL_SECONDS: '0' }, 'WATCH_QUICK_INTERVAL_SECONDS', />=0\.1/],
    [{ WATCH_FULL_INTERVAL_SECONDS: '1h' }, 'WATCH_FULL_INTERVAL_SECONDS', /must be a number/],
    [{ DECODE_MEMORY_BUDGET_MB: '8' }, 'DECODE_MEMORY_BUDGET_MB', />=16/],
    [{ DECODE_MEMORY_BUDGET_MB: '1.5' }, 'DECODE_MEMORY_BUDGET_MB', /whole number/],
    [{ DECODE_QUEUE_TIMEOUT_MS: '-1' }, 'DECODE_QUEUE_TIMEOUT_MS', />=0/],
    [{ THUMB_SIZE: '5' }, 'THUMB_SIZE', />=16/],
    [{ THUMB_SIZE: '200.5' }, 'THUMB_SIZE', /whole number/],
    [{ IMAGE_EXIF_MISSING_SCAN_PAGE_SIZE: '-1' }, 'IMAGE_EXIF_MISSING_SCAN_PAGE_SIZE', />=1/],
    [{ FACE_AUTOBIND_MIN_COS: '2' }, 'FACE_AUTOBIND_MIN_COS', /<=1/],
    [{ BIND_URL: 'foo' }, 'BIND_URL', /host:port/],
    [{ BIND_URL: '0.0.0.0:70000' }, 'BIND_URL', /host:port/],
    [{ NATS_URL: 'http://x' }, 'NATS_URL', /nats:\/\//],
    [{ NATS_URL: 'nats://a:4222,http://b' }, 'NATS_URL', /nats:\/\//],
    [{ SECRET_KEY: 'too-short' }, 'SECRET_KEY', /at least 32 characters/],
    [{ ADMIN_PASSWORD: 'abc' }, 'ADMIN_PASSWORD', /at least 8 characters/],
    [{ LIBRARIES: 'broken' }, 'LIBRARIES', /"broken" must be name=/],
    [{ LIBRARIES: '=/mnt/x' }, 'LIBRARIES', /must be name=/],
    [{ LIBRARIES: 'a=/x,A=/y' }, 'LIBRARIES', /given twice/],
    [{ LIBRARIES: 'bad/name=/x' }, 'LIBRARIES', /letters, digits/],
    [{ LIBRARIES: ',,' }, 'LIBRARIES', /lists no library/],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /"loud" is not a log level/],
    [{ LOG_LEVEL: 'info,lumen=chatty' }, 'LOG_LEVEL', /not a log level/],
    [{ MAINTENANCE_DRY_RUN: 'maybe' }, 'MAINTENANCE_DRY_RUN', /true or false/],
    [{ MISSING_GRACE_SECONDS: '-1' }, 'MISSING_GRACE_SECONDS', /0/],
    [{ MISSING_GRACE_SECONDS: '7d' }, 'MISSING_GRACE_SECONDS', /whole number/],
    [{ MISSING_SUSPECT_SHARE: '1.5' }, 'MISSING_SUSPECT_SHARE', /1/],
    [{ MISSING_SUSPECT_MIN_CHECKED: '0' }, 'MISSING_SUSPECT_MIN_CHECKED', /1/],
    [{ OLLAMA_URL: 'ftp://x' }, 'OLLAMA_URL', /http\(s\) URL/],
    [{ OTLP_OTLS_ENDPOINT: 'not a url' }, 'OTLP_OTLS_ENDPOINT', /http\(s\) URL/],
    [{ BUS_PREFIX: 'lumen.prod' }, 'BUS_PREFIX', /letters, digits/],
    [{ DATABASE_URL: 'mysql://db/lumen' }, 'DATABASE_URL', /unsupported scheme/],
    [{ DATABASE_URL: 'sqlite://' }, 'DATABASE_URL', /names no file/],
  ])('%j', (env, variable, why) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.variable).toBe(variable);
    expect(problems[0]!.message).toMatch(why);
  });

  it('reports every bad variable at once, in the error message too', () => {
    let error: unknown;
    try {
      parseConfig({ BIND_URL: 'foo', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' }, CWD);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.problems.map((p) => p.variable).sort()).toEqual([
      'BIND_URL',
      'DATABASE_URL',
      'LOG_LEVEL',
    ]);
    expect(configError.message).toMatch(/BIND_URL: must be host:port/);
    expect(configError.message).toMatch(/LOG_LEVEL: "loud"/);
    expect(configError.message).toMatch(/DATABASE_URL: unsupported scheme/);
  });

  it('ignores variables it does not know', () => {
    expect(() => parseConfig({ SOMETHING_ELSE: 'whatever', PATH: '/bin' }, CWD)).not.toThrow();
  });
});

describe('parseDotEnv', () => {
  it.each([
    ['A=1', { A: '1' }],
    ['  A = 1  ', { A: '1' }],
    ['export A=1', { A: '1' }],
    ['# comment\n\nA=1\n  # indented comment', { A: '1' }],
    ['A=1 # trailing comment', { A: '1' }],
    ['A=pass#word', { A: 'pass#word' }],
    ['A= # only a comment', { A: '' }],
    ['A=', { A: '' }],
    ['A="quoted # not a comment"', { A: 'quoted # not a comment' }],
    ['A="a" # say "hi"', { A: 'a' }],
    ["A='a' # it's", { A: 'a' }],
    ["A='literal \\n $x'", { A: 'literal \\n $x' }],
    ['A="line1\\nline2\\t\\"q\\" \\\\"', { A: 'line1\nline2\t"q" \\' }],
    ['A="unterminated', { A: 'unterminated' }],
    ['A=1\r\nB=2\r\n', { A: '1', B: '2' }],
    ['\uFEFFA=1', { A: '1' }],
    ['A=1\nA=2', { A: '2' }],
    ['not a line\n1A=x\nA-B=x\nGOOD=yes', { GOOD: 'yes' }],
    ['URL=postgres://u:p@h/db?x=1', { URL: 'postgres://u:p@h/db?x=1' }],
  ])('%j', (text, expected) => {
    expect(parseDotEnv(text)).toEqual(expected);
  });
});

describe('loadConfig with a .env file', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-core-config-'));
  const nested = path.join(tmp, 'apps', 'api');
  fs.mkdirSync(nested, { recursive: true });
  fs.writeFileSync(
    path.join(tmp, '.env'),
    [
      '# test env',
      'WATCH_QUICK_INTERVAL_SECONDS=15',
      'LOG_LEVEL=debug',
      'DATA_DIR=store',
      'THUMB_SIZE=300',
    ].join('\n'),
  );
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('finds the .env in a parent directory', () => {
    expect(findDotEnv(nested)).toBe(path.join(tmp, '.env'));
  });

  it('skips a directory named .env', () => {
    const dirEnv = path.join(tmp, 'apps', '.env');
    fs.mkdirSync(dirEnv, { recursive: true });
    try {
      expect(findDotEnv(nested)).toBe(path.join(tmp, '.env'));
    } finally {
      fs.rmSync(dirEnv, { recursive: true });
    }
  });

  it('reads values from the file; the real environment wins', () => {
    const config = loadConfig({ LOG_LEVEL: 'warn', THUMB_SIZE: undefined }, nested);
    expect(config.env.WATCH_QUICK_INTERVAL_SECONDS).toBe(15);
    expect(config.env.THUMB_SIZE).toBe(300);
    expect(config.logLevel).toBe('warn');
    // Relative paths resolve against the working directory, not the .env location.
    expect(config.dataDir).toBe(path.join(nested, 'store'));
  });

  it('reports a bad value that came from the file', () => {
    fs.writeFileSync(path.join(nested, '.env'), 'BIND_URL=foo\n');
    try {
      expect(() => loadConfig({}, nested)).toThrow(/BIND_URL: must be host:port/);
      // The nearest .env wins over the one further up.
      expect(findDotEnv(nested)).toBe(path.join(nested, '.env'));
    } finally {
      fs.rmSync(path.join(nested, '.env'));
    }
  });
});
