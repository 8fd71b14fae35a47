import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemOf, startTestApi, TEST_SECRET, type TestApi } from './test-api.ts';

const key = (secret: string) => new TextEncoder().encode(secret);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('bearer auth on protected routes', () => {
  let t: TestApi;
  let userId: number;
  let valid: string;

  beforeAll(async () => {
    t = await startTestApi();
    userId = await t.createUser('carol', 'carols password', true);
    valid = await t.tokenFor('carol', 'carols password');
  });
  afterAll(() => t.stop());

  const get = (authorization?: string) =>
    fetch(`${t.url}/me`, { headers: authorization === undefined ? {} : { Authorization: authorization } });

  it('lets a valid token through and puts the user on the request', async () => {
    const res = await get(`Bearer ${valid}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: userId, username: 'carol', is_admin: true });
    // The scheme is case-insensitive (RFC 7235).
    expect((await get(`bearer ${valid}`)).status).toBe(200);
  });

  const sign = (claims: Record<string, unknown>, opts: { secret?: string; alg?: string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: opts.alg ?? 'HS256', typ: 'JWT' })
      .sign(key(opts.secret ?? TEST_SECRET));

  const cases: [string, () => Promise<string | undefined>, RegExp][] = [
    ['no Authorization header', async () => undefined, /needs an Authorization/],
    ['a Basic header', async () => 'Basic Y2Fyb2w6cGFzcw==', /must be "Bearer <token>"/],
    ['Bearer without a token', async () => 'Bearer', /must be "Bearer <token>"/],
    ['a token that is not a JWT', async () => 'Bearer not-a-jwt', /malformed or its signature/],
    [
      'an expired token',
      async () => `Bearer ${await sign({ sub: String(userId), iat: now() - 7200, exp: now() - 3600 })}`,
      /expired/,
    ],
    [
      'a tampered signature',
      async () => {
        const [h, p, s] = valid.split('.') as [string, string, string];
        const flipped = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
        return `Bearer ${h}.${p}.${flipped}`;
      },
      /malformed or its signature/,
    ],
    [
      'a tampered payload (another sub) with the old signature',
      async () => {
        const [h, , s] = valid.split('.') as [string, string, string];
        const payload = b64({ sub: '999', iat: now(), exp: now() + 3600 });
        return `Bearer ${h}.${payload}.${s}`;
      },
      /malformed or its signature/,
    ],
    [
      'alg: none',
      async () =>
        `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: String(userId), iat: now(), exp: now() + 3600 })}.`,
      /malformed or its signature/,
    ],
    [
      'a token signed with another key',
      async () =>
        `Bearer ${await sign({ sub: String(userId), iat: now(), exp: now() + 3600 }, { secret: 'another-secret-key-of-32-characters!!' })}`,
      /malformed or its signature/,
    ],
    [
      'HS512 with the right key (algorithm not allowed)',
      async () =>
        `Bearer ${await sign({ sub: String(userId), iat: now(), exp: now() + 3600 }, { alg: 'HS512' })}`,
      /malformed or its signature/,
    ],
    [
      'a token without exp',
      async () => `Bearer ${await sign({ sub: String(userId), iat: now() })}`,
      /malformed or its signature/,
    ],
    [
      'a sub that is not a user id',
      async () => `Bearer ${await sign({ sub: 'carol', iat: now(), exp: now() + 3600 })}`,
      /not a user id/,
    ],
    [
      'a user that does not exist',
      async () => `Bearer ${await sign({ sub: '4242', iat: now(), exp: now() + 3600 })}`,
      /no longer exists/,
    ],
  ];

  it.each(cases)('refuses %s with 401 problem+json and WWW-Authenticate', async (_name, header, detail) => {
    const authorization = await header();
    const res = await get(authorization);
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer realm="lumen"/);
    if (authorization?.match(/^Bearer \S+$/i)) expect(challenge).toContain('error="invalid_token"');
    const body = await problemOf(res);
    expect(body.type).toBe('https://lumen.dev/problems/unauthorized');
    expect(body.detail).toMatch(detail);
    expect(body.instance).toBe('/me');
  });

  it('a token already verified once still expires on time', async () => {
    const token = await sign({ sub: String(userId), iat: now(), exp: now() + 2 });
    expect((await get(`Bearer ${token}`)).status).toBe(200);
    expect((await get(`Bearer ${token}`)).status).toBe(200); // now from the verified-token memory
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const res = await get(`Bearer ${token}`);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toMatch(/expired/);
  });

  it('a token already verified once stops working when its user is deleted', async () => {
    const daveId = await t.createUser('dave', 'daves password');
    const token = await t.tokenFor('dave', 'daves password');
    expect((await get(`Bearer ${token}`)).status).toBe(200);
    await t.database.db.deleteFrom('users').where('id', '=', daveId).execute();
    const res = await get(`Bearer ${token}`);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toMatch(/no longer exists/);
  });

  it('protects unknown paths too (deny by default), so nothing is revealed without a token', async () => {
    const res = await fetch(`${t.url}/admin/secret`);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).type).toBe('https://lumen.dev/problems/unauthorized');
  });
});
