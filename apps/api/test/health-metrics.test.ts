import { freshPostgresDatabase } from '@lumen/test-support';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { startTestApi, type TestApi } from './test-api.ts';

let t: TestApi | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

describe('GET /health', () => {
  it('is ok with a working database and bus, without a token', async () => {
    t = await startTestApi();
    const res = await fetch(`${t.url}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      status: 'ok',
      db: { ok: true, dialect: 'sqlite' },
      bus: { transport: 'memory', connected: true },
    });
  });

  it('is degraded but 200 when the bus is down', async () => {
    t = await startTestApi();
    await t.bus.close();
    const res = await fetch(`${t.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'degraded',
      db: { ok: true, dialect: 'sqlite' },
      bus: { transport: 'memory', connected: false },
    });
  });

  it('is 503 when the database does not answer', async () => {
    t = await startTestApi();
    await t.database.close();
    const res = await fetch(`${t.url}/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'degraded', db: { ok: false } });
  });

  it('names the PostgreSQL dialect when DATABASE_URL points at PostgreSQL', async () => {
    const pg = await freshPostgresDatabase();
    try {
      t = await startTestApi({ DATABASE_URL: pg.url });
      const res = await fetch(`${t.url}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok', db: { ok: true, dialect: 'postgres' } });
    } finally {
      await t?.stop();
      t = undefined;
      await pg.drop();
    }
  });
});

describe('GET /metrics', () => {
  it('serves default process metrics and the request histogram by route pattern', async () => {
    t = await startTestApi();
    await fetch(`${t.url}/health`);
    await fetch(`${t.url}/no/such/route-12345`);
    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} 1/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\(unmatched\)",status="401"\} 1/,
    );
    expect(text).not.toContain('route-12345');
  });

  it('labels a parameterised route by its pattern, and two apps keep separate registries', async () => {
    t = await startTestApi();
    await t.createUser('mia', 'password-123');
    const token = await t.tokenFor('mia', 'password-123');
    const deps = { config: t.config, database: t.database, bus: t.bus, logger: pino({ level: 'silent' }) };
    const registry = new Registry();
    const first = createApp({ ...deps, registry });
    first.get('/items/:id', (c) => c.json({ id: c.req.param('id') }));
    const second = createApp(deps); // its own registry: no "metric already registered" collision

    const auth = { headers: { Authorization: `Bearer ${token}` } };
    expect((await first.request('/items/42', auth)).status).toBe(200);
    expect((await first.request('/items/43', auth)).status).toBe(200);
    const text = await registry.metrics();
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/items\/:id",status="200"\} 2/,
    );
    expect(text).not.toContain('/items/42');

    const secondText = await (await second.request('/metrics')).text();
    expect(secondText).toContain('http_request_duration_seconds');
    expect(secondText).not.toContain('/items/:id');
  });
});
