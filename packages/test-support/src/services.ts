import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import pg from 'pg';

/**
 * The services some tests need (NATS with JetStream, PostgreSQL, Chromium), checked up front so that
 * a missing one fails those tests with one line naming it and saying how to get it, instead of a
 * connection error's stack trace from deep inside a test. `scripts/setup.sh test` installs and
 * starts all three (see the README).
 *
 * Call the check in the `beforeAll` of a suite that needs the service (or before opening it).
 */

const HOW_TO_GET_IT = 'run `scripts/setup.sh test` (it installs and starts what the tests need)';

/** A test needs a service that is not there. Its message is the whole story: no stack is printed. */
export class MissingServiceError extends Error {
  override name = 'MissingServiceError';
  constructor(service: string, detail: string) {
    super(`${service} is not available: ${detail}; ${HOW_TO_GET_IT}`);
    // The stack would only point at this helper; the message names the service and the fix.
    this.stack = `${this.name}: ${this.message}`;
  }
}

export const natsTestUrl = (): string => process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/**
 * The PostgreSQL server and role the tests use (`LUMEN_TEST_POSTGRES_URL` overrides it). The role
 * may create databases; `scripts/setup.sh test` creates it and its database.
 */
export const postgresTestUrl = (): string =>
  process.env.LUMEN_TEST_POSTGRES_URL ?? 'postgres://lumen_test:lumen_test@127.0.0.1:5432/lumen_test';

export const chromiumTestPath = (): string => process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHECK_TIMEOUT_MS = 5_000;

/** `url` with its password hidden, for messages. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

function reason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.message || e.code || String(err);
}

/**
 * NATS answers at `url` (default `NATS_URL` or nats://127.0.0.1:4222) and has JetStream on: reads
 * the INFO line the server sends on connect. Resolves with the URL.
 */
export async function requireNats(url = natsTestUrl()): Promise<string> {
  const service = `NATS with JetStream at ${url}`;
  const first = url.split(',')[0] ?? url;
  const { hostname, port } = new URL(first.includes('://') ? first : `nats://${first}`);
  const info = await new Promise<string>((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port || 4222) });
    let received = '';
    const done = (err?: Error) => {
      socket.destroy();
      if (err) reject(err);
      else resolve(received);
    };
    socket.setTimeout(CHECK_TIMEOUT_MS, () => done(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)));
    socket.on('error', (err) => done(err));
    socket.on('data', (chunk) => {
      received += String(chunk);
      if (received.includes('\r\n')) done();
    });
    socket.on('end', () => done(new Error('the connection was closed before the server said hello')));
  }).catch((err: unknown) => {
    throw new MissingServiceError(service, reason(err));
  });
  if (!info.startsWith('INFO '))
    throw new MissingServiceError(service, 'the server there does not speak NATS');
  let jetstream = false;
  try {
    jetstream = (JSON.parse(info.slice(5).trim()) as { jetstream?: boolean }).jetstream === true;
  } catch {
    throw new MissingServiceError(service, 'the server sent an unreadable INFO line');
  }
  if (!jetstream)
    throw new MissingServiceError(service, 'the server runs without JetStream (start it with -js)');
  return url;
}

/**
 * NATS for a test file: `beforeAll(nats.up)` fails clearly when NATS is down, and in `afterAll`
 * `nats.ifUp(cleanup)` runs the cleanup (deleting the test's prefix) only when it was up.
 */
export function natsForTest(url = natsTestUrl()): {
  up(): Promise<void>;
  ifUp(cleanup: () => Promise<unknown>): Promise<void>;
} {
  let reachable = false;
  return {
    async up() {
      await requireNats(url);
      reachable = true;
    },
    async ifUp(cleanup) {
      if (reachable) await cleanup();
    },
  };
}

/**
 * PostgreSQL answers at `url` (default `postgresTestUrl()`) and lets the test role log in.
 * Resolves with the URL.
 */
export async function requirePostgres(url = postgresTestUrl()): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CHECK_TIMEOUT_MS });
  client.on('error', () => {}); // a late socket error after a failed connect: already reported
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new MissingServiceError(`PostgreSQL at ${withoutPassword(url)}`, reason(err));
  } finally {
    await client.end().catch(() => {});
  }
  return url;
}

/** Chromium (for the browser tests) is an executable at `path` (default `CHROMIUM_PATH` or /usr/bin/chromium). */
export async function requireChromium(path = chromiumTestPath()): Promise<string> {
  try {
    await fs.access(path, fs.constants.X_OK);
  } catch (err) {
    const detail = (err as { code?: string }).code === 'ENOENT' ? 'not installed' : reason(err);
    throw new MissingServiceError(`Chromium at ${path} (set CHROMIUM_PATH to use another)`, detail);
  }
  return path;
}

/**
 * A new, empty PostgreSQL database for one test (named `lumen_test_<random>`), on the server of
 * `postgresTestUrl()`; `drop()` removes it (connections are closed by force). Without a reachable
 * PostgreSQL, a MissingServiceError that says so.
 */
export async function freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = await requirePostgres();
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  const name = `lumen_test_${randomBytes(6).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) };
}
