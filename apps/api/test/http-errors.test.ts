import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemOf, startTestApi, type TestApi } from './test-api.ts';

describe('problem+json for every error', () => {
  let t: TestApi;
  let auth: { Authorization: string };
  beforeAll(async () => {
    t = await startTestApi();
    await t.createUser('dave', 'daves password');
    auth = { Authorization: `Bearer ${await t.tokenFor('dave', 'daves password')}` };
  });
  afterAll(() => t.stop());

  it('answers an unknown route with 404 not-found', async () => {
    const res = await fetch(`${t.url}/no/such/thing?x=1`, { headers: auth });
    expect(res.status).toBe(404);
    expect(await problemOf(res)).toEqual({
      type: 'https://lumen.dev/problems/not-found',
      title: 'Not found',
      status: 404,
      detail: 'no route for GET /no/such/thing',
      instance: '/no/such/thing',
    });
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const res = await fetch(`${t.url}/me`, { method: 'DELETE', headers: auth });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect((await problemOf(res)).type).toBe('https://lumen.dev/problems/method-not-allowed');
  });

  it('answers HEAD on a GET route like GET, without a body', async () => {
    const res = await fetch(`${t.url}/health`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });
});

describe('unexpected errors', () => {
  it('become a 500 internal problem that leaks no stack, and are logged with the request id', async () => {
    const t = await startTestApi();
    try {
      await t.createUser('erin', 'erins password');
      const token = await t.tokenFor('erin', 'erins password');
      await t.database.close(); // every query now throws

      const res = await fetch(`${t.url}/me`, {
        headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'boom-1' },
      });
      expect(res.status).toBe(500);
      const text = await res.clone().text();
      const body = await problemOf(res);
      expect(body.type).toBe('https://lumen.dev/problems/internal');
      expect(body.title).toBe('Internal server error');
      expect(text).not.toMatch(/\bat \S+ \(|\.ts:\d+|driver has already been destroyed/i);
      expect(res.headers.get('x-request-id')).toBe('boom-1');

      const logged = t.logs.find((l) => l.msg === 'unhandled error');
      expect(logged).toMatchObject({ reqId: 'boom-1', level: 50 });
      expect(JSON.stringify(logged?.err)).toContain('stack');
    } finally {
      await t.stop();
    }
  });
});
