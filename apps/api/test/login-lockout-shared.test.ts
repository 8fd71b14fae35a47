import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createMemoryBus, createNatsBus, deleteBusPrefix, type KeyValueStore } from '@lumen/bus';
import { natsForTest, natsTestUrl } from '@lumen/test-support';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_FAILURES_BUCKET, SharedFailureCounter } from '../src/services/login-failure-counter.ts';
import { startTestApi, type TestApi } from './test-api.ts';

/**
 * The login lockout across api replicas (issue 15): two real apis on one NATS (a fresh prefix, so
 * a fresh KV bucket, per test) and one database count failed logins in one shared KV bucket.
 */

const servers = natsTestUrl();
const prefixes: string[] = [];
const freshPrefix = () => {
  const prefix = `test_lockout_${randomBytes(4).toString('hex')}`;
  prefixes.push(prefix);
  return prefix;
};

const nats = natsForTest(servers);
beforeAll(nats.up);
afterAll(async () => {
  await nats.ifUp(async () => {
    for (const prefix of prefixes) await deleteBusPrefix(servers, prefix);
  });
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, sink) };
}

describe('two api replicas on one NATS', () => {
  let dir: string;
  let replicas: TestApi[] = [];
  afterEach(async () => {
    for (const r of replicas) await r.stop();
    replicas = [];
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function twoReplicas(): Promise<[TestApi, TestApi]> {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-lockout-shared-'));
    const prefix = freshPrefix();
    const env = { DATA_DIR: dir, LOGIN_MAX_FAILURES_PER_MINUTE: '3', BUS_PREFIX: prefix };
    for (let i = 0; i < 2; i++) {
      replicas.push(await startTestApi(env, { bus: await createNatsBus({ servers, prefix }) }));
    }
    return replicas as [TestApi, TestApi];
  }

  it('failures spread over both replicas lock the name as on one; a lift on one lifts on both', async () => {
    const [a, b] = await twoReplicas();
    await a.createUser('ann', 'anns password');
    await a.createUser('root', 'root password', true);
    const adminA = { Authorization: `Bearer ${await a.tokenFor('root', 'root password')}` };
    const adminB = { Authorization: `Bearer ${await b.tokenFor('root', 'root password')}` };

    expect((await a.login('ann', 'guess 1')).status).toBe(401);
    expect((await b.login('ann', 'guess 2')).status).toBe(401);
    expect((await a.login('ann', 'guess 3')).status).toBe(401);
    // Per replica, b would have counted one failure only.
    expect((await b.login('ann', 'anns password')).status).toBe(429);
    expect((await a.login('ann', 'anns password')).status).toBe(429);

    const lock = {
      username: 'ann',
      address: '127.0.0.1',
      failures: 3,
      retry_after_seconds: expect.any(Number),
    };
    for (const [r, admin] of [
      [a, adminA],
      [b, adminB],
    ] as const) {
      expect(await (await fetch(`${r.url}/login-lockouts`, { headers: admin })).json()).toEqual([lock]);
    }

    const lift = await fetch(`${a.url}/login-lockouts/lift`, {
      method: 'POST',
      headers: { ...adminA, 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'ann' }),
    });
    expect(await lift.json()).toMatchObject({ forgotten_failures: 3 });
    // b sees no lock at once (the shared counter was cleared, not only the lift row written).
    expect(await (await fetch(`${b.url}/login-lockouts`, { headers: adminB })).json()).toEqual([]);
    expect((await b.login('ann', 'anns password')).status).toBe(200);
  });
});

describe('SharedFailureCounter', () => {
  const opts = (logger: pino.Logger) => ({ maxFailures: 3, windowMs: 60_000, logger });

  it('parallel attempts on two replicas: exactly the limit gets through (CAS with retry)', async () => {
    const prefix = freshPrefix();
    const buses = [await createNatsBus({ servers, prefix }), await createNatsBus({ servers, prefix })];
    try {
      const { logger } = capture();
      const counters = buses.map(
        (bus) => new SharedFailureCounter(() => bus.keyValue(LOGIN_FAILURES_BUCKET), 'pair', opts(logger)),
      );
      const now = Date.now();
      const gates = await Promise.all(
        Array.from({ length: 10 }, (_, i) => counters[i % 2]!.begin('10.0.0.1\u0000ann', now + i)),
      );
      expect(gates.filter((g) => g.allowed)).toHaveLength(3);
      expect(await counters[1]!.locked(now + 10)).toEqual([
        { key: '10.0.0.1\u0000ann', failures: 3, retryAfterSeconds: 60 },
      ]);
      // Expiry by the times in the value: a window later the key is free again.
      expect((await counters[0]!.begin('10.0.0.1\u0000ann', now + 60_010)).allowed).toBe(true);
    } finally {
      for (const bus of buses) await bus.close();
    }
  });

  it('a KV that does not answer: counts in this replica (still limited), says so once, and comes back', async () => {
    const { lines, logger } = capture();
    const bus = createMemoryBus();
    const working = await bus.keyValue('login-failures');
    let down = true;
    const when =
      <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
      (...args: A) =>
        down ? Promise.reject(new Error('nats down')) : call(...args);
    const flaky: KeyValueStore = {
      get: when(working.get),
      create: when(working.create),
      update: when(working.update),
      delete: when(working.delete),
      keys: when(working.keys),
    };
    const counter = new SharedFailureCounter(async () => flaky, 'pair', { ...opts(logger), retryMs: 200 });
    const allowed = [];
    for (let i = 0; i < 5; i++) allowed.push((await counter.begin('k', 1_000 + i)).allowed);
    expect(allowed).toEqual([true, true, true, false, false]);
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/unavailable: counting failed logins in this replica only/);
    expect(await working.keys()).toEqual([]);

    down = false;
    // Within the retry interval the local counter still answers; after it, the KV again.
    expect((await counter.begin('k', 1_010)).allowed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await counter.begin('k', 1_020)).allowed).toBe(true);
    expect(await working.keys()).toEqual(['pair.kaw']);
    expect(lines.some((l) => l.msg === 'shared login failure counter answers again')).toBe(true);
    await bus.close();
  });

  it('a KV that hangs: the local counter answers after the timeout', async () => {
    const { logger } = capture();
    const hanging: KeyValueStore = {
      get: () => new Promise(() => {}),
      create: () => new Promise(() => {}),
      update: () => new Promise(() => {}),
      delete: () => new Promise(() => {}),
      keys: () => new Promise(() => {}),
    };
    const counter = new SharedFailureCounter(async () => hanging, 'pair', {
      ...opts(logger),
      timeoutMs: 100,
    });
    const started = Date.now();
    expect((await counter.begin('k', 0)).allowed).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
    // The next ones do not wait for the KV again (until the retry interval passed).
    const next = Date.now();
    expect((await counter.begin('k', 1)).allowed).toBe(true);
    expect(Date.now() - next).toBeLessThan(50);
  });
});
