import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemOf, startTestApi, type TestApi } from './test-api.ts';

describe('request id', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi();
  });
  afterAll(() => t.stop());

  it('echoes a sane X-Request-Id and logs the request under it', async () => {
    const res = await fetch(`${t.url}/health`, { headers: { 'X-Request-Id': 'client-abc.123' } });
    expect(res.headers.get('x-request-id')).toBe('client-abc.123');
    const line = t.logs.find((l) => l.reqId === 'client-abc.123' && l.msg === 'request');
    expect(line).toMatchObject({ method: 'GET', path: '/health', status: 200 });
    expect(typeof line?.durationMs).toBe('number');
  });

  it('generates one when absent or unsafe, also on error responses', async () => {
    const none = await fetch(`${t.url}/nowhere`);
    expect(none.status).toBe(401);
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const unsafe = await fetch(`${t.url}/health`, { headers: { 'X-Request-Id': 'a b\tc' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const tooLong = await fetch(`${t.url}/health`, { headers: { 'X-Request-Id': 'x'.repeat(200) } });
    expect(tooLong.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends no CORS headers when no origin is configured', async () => {
    const res = await fetch(`${t.url}/health`, { headers: { Origin: 'https://app.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ CORS_ALLOWED_ORIGINS: 'https://app.example, http://localhost:5173' });
  });
  afterAll(() => t.stop());

  it('allows a configured origin, on success and on error responses', async () => {
    const ok = await fetch(`${t.url}/health`, { headers: { Origin: 'https://app.example' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(ok.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
    expect(ok.headers.get('vary')).toMatch(/origin/i);

    const denied = await fetch(`${t.url}/me`, { headers: { Origin: 'http://localhost:5173' } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    await problemOf(denied);
  });

  it('gives no allow-origin to any other origin', async () => {
    const res = await fetch(`${t.url}/health`, { headers: { Origin: 'https://evil.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a preflight for a protected route without asking for a token', async () => {
    const res = await fetch(`${t.url}/me`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'authorization',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(res.headers.get('access-control-allow-methods')).toContain('GET');
    expect(res.headers.get('access-control-allow-headers')).toContain('Authorization');

    const evil = await fetch(`${t.url}/me`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' },
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });
});
