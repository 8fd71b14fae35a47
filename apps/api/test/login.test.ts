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

    // Even the right password is refused while limited: else a guess answered 200 rather than 429
    // would tell the right one, and the limit would not slow guessing at all.
    expect((await t.login('bob', 'bobs password')).status).toBe(429);
  });

  it('locks the name at that address only: another user at the same address still signs in', async () => {
    await t.createUser('carol', 'carols password');
    expect((await t.login('bob', 'bobs password')).status).toBe(429);
    expect((await t.login('carol', 'carols password')).status).toBe(200);
  });

  it('an admin sees the lock and lifts it: the right password then works, and the next guesses count again', async () => {
    await t.createUser('root', 'root password', true);
    const admin = { Authorization: `Bearer ${await t.tokenFor('root', 'root password')}` };
    const locks = await fetch(`${t.url}/login-lockouts`, { headers: admin });
    expect(locks.status).toBe(200);
    expect(await locks.json()).toEqual([
      { username: 'bob', address: '127.0.0.1', failures: 3, retry_after_seconds: expect.any(Number) },
    ]);

    const lift = await fetch(`${t.url}/login-lockouts/lift`, {
      method: 'POST',
      headers: { ...admin, 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'bob' }),
    });
    expect(lift.status).toBe(200);
    expect(await lift.json()).toEqual({
      username: 'bob',
      address: null,
      lifted_at: expect.stringMatching(/^\d{4}-/),
      lifted_by: 'admin:root',
      forgotten_failures: 3,
    });
    expect((await t.login('bob', 'bobs password')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await t.login('bob', `again ${i}`)).status).toBe(401);
    expect((await t.login('bob', 'bobs password')).status).toBe(429);
    expect(t.logs.some((l) => l.msg === 'an admin lifted a login lockout' && l.admin === 'root')).toBe(true);
  });

  it('only admins list or lift, and a lift names a user, an address or both', async () => {
    const user = { Authorization: `Bearer ${await t.tokenFor('carol', 'carols password')}` };
    const lift = (headers: Record<string, string>, body: unknown) =>
      fetch(`${t.url}/login-lockouts/lift`, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await lift(user, { username: 'bob' })).status).toBe(403);
    expect((await fetch(`${t.url}/login-lockouts`, { headers: user })).status).toBe(403);
    expect((await lift({}, { username: 'bob' })).status).toBe(401);
    const admin = { Authorization: `Bearer ${await t.tokenFor('root', 'root password')}` };
    for (const body of [{}, { address: 'not-an-ip' }, { username: '' }]) {
      const res = await lift(admin, body);
      expect(res.status).toBe(400);
      expect((await problemOf(res)).type).toBe('https://lumen.dev/problems/validation');
    }
  });
});

describe('login lockout of an address', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ LOGIN_MAX_FAILURES_PER_MINUTE: '1' });
    await t.createUser('dave', 'daves password');
    await t.createUser('admin', 'admin password', true);
  });
  afterAll(() => t.stop());

  it('caps the failures of all names from one address at five times the limit; an admin lifts it by address', async () => {
    const admin = { Authorization: `Bearer ${await t.tokenFor('admin', 'admin password')}` };
    for (let i = 0; i < 5; i++) expect((await t.login(`nobody-${i}`, 'guess')).status).toBe(401);
    const limited = await t.login('dave', 'daves password');
    expect(limited.status).toBe(429);
    expect((await problemOf(limited)).detail).toMatch(/from this address/);

    const lift = await fetch(`${t.url}/login-lockouts/lift`, {
      method: 'POST',
      headers: { ...admin, 'Content-Type': 'application/json' },
      body: JSON.stringify({ address: '127.0.0.1' }),
    });
    expect(lift.status).toBe(200);
    expect((await t.login('dave', 'daves password')).status).toBe(200);
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
