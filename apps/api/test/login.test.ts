import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_TTL_SECONDS } from '../src/services/auth.service.ts';
import { problemOf, startTestApi, TEST_SECRET, type TestApi } from './test-api.ts';

describe('POST /login', () => {
  let t: TestApi;
  let aliceId: number;
  beforeAll(async () => {
    t = await startTestApi();
    aliceId = await t.createUser('alice', 'correct horse battery');
  });
  afterAll(() => t.stop());

  it('returns an HS256 JWT for the user, valid 5 days, that opens /me', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await t.login('alice', 'correct horse battery');
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    expect(decodeProtectedHeader(token).alg).toBe('HS256');
    const claims = decodeJwt(token);
    expect(claims.sub).toBe(String(aliceId));
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp! - claims.iat!).toBe(TOKEN_TTL_SECONDS);
    expect(TOKEN_TTL_SECONDS).toBe(5 * 24 * 3600);
    await jwtVerify(token, new TextEncoder().encode(TEST_SECRET), { algorithms: ['HS256'] });

    const me = await fetch(`${t.url}/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ id: aliceId, username: 'alice', is_admin: false });
  });

  it('refuses a bad password and an unknown user alike: 401 problem with WWW-Authenticate', async () => {
    const bad = await t.login('alice', 'wrong password');
    const unknown = await t.login('mallory', 'correct horse battery');
    for (const res of [bad, unknown]) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="lumen"/);
    }
    const [badBody, unknownBody] = [await problemOf(bad), await problemOf(unknown)];
    expect(badBody.type).toBe('https://lumen.dev/problems/unauthorized');
    expect(unknownBody).toEqual(badBody);
    expect(badBody.detail).toBe('invalid username or password');
    expect(badBody.instance).toBe('/login');
  });

  it('spends a bcrypt verification on unknown users too (timing does not reveal existence)', async () => {
    const time = async (username: string) => {
      const started = performance.now();
      await t.login(username, 'not the password');
      return performance.now() - started;
    };
    await time('alice'); // warm up
    const known = Math.min(await time('alice'), await time('alice'));
    const unknown = Math.min(await time('nobody-here'), await time('nobody-here'));
    // A bcrypt verify at cost 12 takes ~200 ms; a lookup alone takes ~1 ms.
    expect(known).toBeGreaterThan(50);
    expect(unknown).toBeGreaterThan(known * 0.5);
  });

  it('names the missing field in a 400 validation problem', async () => {
    const res = await fetch(`${t.url}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'alice' }),
    });
    expect(res.status).toBe(400);
    const body = await problemOf(res);
    expect(body.type).toBe('https://lumen.dev/problems/validation');
    expect(body.errors).toEqual([expect.objectContaining({ in: 'body', name: 'password' })]);
    expect(body.detail).toMatch(/^password: /);
  });

  it('names a field of the wrong type', async () => {
    const res = await fetch(`${t.url}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 42, password: 'x' }),
    });
    const body = await problemOf(res);
    expect(res.status).toBe(400);
    expect(body.errors?.map((e) => e.name)).toEqual(['username']);
  });

  it('answers a malformed JSON body with a 400 problem', async () => {
    const res = await fetch(`${t.url}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"username": "alice", ',
    });
    expect(res.status).toBe(400);
    const body = await problemOf(res);
    expect(body.type).toBe('https://lumen.dev/problems/bad-request');
    expect(body.detail).toMatch(/malformed json/i);
  });

  it('refuses an oversized body with 413', async () => {
    const res = await fetch(`${t.url}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'x'.repeat(100_000) }),
    });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).type).toBe('https://lumen.dev/problems/payload-too-large');
  });

  it('answers GET /login with 405 and Allow', async () => {
    const res = await fetch(`${t.url}/login`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect((await problemOf(res)).type).toBe('https://lumen.dev/problems/method-not-allowed');
  });
});

describe('login rate limit', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ LOGIN_MAX_FAILURES_PER_MINUTE: '3' });
    await t.createUser('bob', 'bobs password');
  });
  afterAll(() => t.stop());

  it('does not count successful logins', async () => {
    for (let i = 0; i < 5; i++) expect((await t.login('bob', 'bobs password')).status).toBe(200);
  });

  it('answers 429 with Retry-After once the failures of the last minute reach the limit', async () => {
    for (let i = 0; i < 3; i++) expect((await t.login('bob', `guess ${i}`)).status).toBe(401);
    const limited = await t.login('bob', 'guess 4');
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const body = await problemOf(limited);
    expect(body.type).toBe('https://lumen.dev/problems/rate-limited');

    // Even the right password is refused while limited: the limit is on the address.
    expect((await t.login('bob', 'bobs password')).status).toBe(429);
  });

  it('counts parallel guesses before the slow password check', async () => {
    const other = await startTestApi({ LOGIN_MAX_FAILURES_PER_MINUTE: '2' });
    try {
      const statuses = await Promise.all(Array.from({ length: 6 }, (_, i) => other.login('x', `p${i}`)));
      const counts = statuses.map((r) => r.status).sort();
      expect(counts).toEqual([401, 401, 429, 429, 429, 429]);
    } finally {
      await other.stop();
    }
  });
});
