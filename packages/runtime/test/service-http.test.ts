import pino from 'pino';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServiceHealth, type ServiceHttp, startServiceHttp } from '../src/index.ts';

let server: ServiceHttp | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(health: () => Promise<ServiceHealth>, healthTimeoutMs?: number): Promise<ServiceHttp> {
  const registry = new Registry();
  new Counter({ name: 'lumen_test_things_total', help: 'things', registers: [registry] }).inc(3);
  server = await startServiceHttp({
    service: 'tester',
    bind: { host: '127.0.0.1', port: 0 },
    registry,
    health,
    logger: pino({ level: 'silent' }),
    ...(healthTimeoutMs ? { healthTimeoutMs } : {}),
  });
  return server;
}

describe('the small metrics and health port of a service (METRICS_BIND_URL)', () => {
  it('serves Prometheus text with the process metrics, and the health as JSON', async () => {
    const s = await start(async () => ({ ok: true, running: 2 }));
    const metrics = await fetch(`${s.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toContain('lumen_test_things_total 3');
    expect(text).toContain('process_resident_memory_bytes');
    const health = await fetch(`${s.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ service: 'tester', ok: true, running: 2 });
  });

  it.each([
    ['not ok', async () => ({ ok: false, db: { ok: false } }), { ok: false, db: { ok: false } }],
    [
      'a check that throws',
      async () => {
        throw new Error('db gone');
      },
      { ok: false, error: 'db gone' },
    ],
    [
      'a check that hangs',
      () => new Promise<ServiceHealth>(() => {}),
      { ok: false, error: 'the health check timed out after 200 ms' },
    ],
  ])('answers 503 for %s', async (_, health, body) => {
    const s = await start(health as () => Promise<ServiceHealth>, 200);
    const res = await fetch(`${s.url}/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ service: 'tester', ...body });
  });

  it('answers nothing else: 404 for other paths, 405 for other methods', async () => {
    const s = await start(async () => ({ ok: true }));
    expect((await fetch(`${s.url}/`)).status).toBe(404);
    expect((await fetch(`${s.url}/metrics/../secret`)).status).toBe(404);
    const post = await fetch(`${s.url}/health`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});
