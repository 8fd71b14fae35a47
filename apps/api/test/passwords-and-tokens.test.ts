import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemOf, startTestApi, TEST_SECRET, type TestApi } from './test-api.ts';

const me = (t: TestApi, token: string) =>
  fetch(`${t.url}/me`, { headers: { Authorization: `Bearer ${token}` } });

const changePassword = (t: TestApi, token: string, body: unknown) =>
  fetch(`${t.url}/me/password`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('passwords: bcrypt reads 72 bytes, the api never accepts more', () => {
  let t: TestApi;
  // 72 bytes each: ASCII, and 24 three-byte characters.
  const ascii72 = 'a1b2c3d4e5'.repeat(7).concat('zz');
  const euro72 = '€'.repeat(24);
  beforeAll(async () => {
    t = await startTestApi();
    await t.createUser('long', ascii72);
    await t.createUser('euro', euro72);
  });
  afterAll(() => t.stop());

  it('the fixtures are exactly 72 bytes', () => {
    expect(Buffer.byteLength(ascii72)).toBe(72);
    expect(Buffer.byteLength(euro72)).toBe(72);
  });

  it.each([
    ['long', () => ascii72],
    ['euro', () => euro72],
  ])('%s logs in with the 72 bytes, never with them followed by anything', async (user, password) => {
    expect((await t.login(user, password())).status).toBe(200);
    for (const suffix of ['WRONG-SUFFIX', 'x', '\u0000', '€']) {
      const res = await t.login(user, password() + suffix);
      expect(res.status).toBe(401);
      expect((await problemOf(res)).detail).toBe('invalid username or password');
    }
  });

  it('a user cannot set a password over 72 bytes, and is told why', async () => {
    const token = await t.tokenFor('long', ascii72);
    const res = await changePassword(t, token, { current_password: ascii72, new_password: `${ascii72}!` });
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.type).toBe('https://lumen.dev/problems/validation');
    expect(problem.errors).toEqual([
      { in: 'body', name: 'new_password', message: expect.stringContaining('73 bytes, at most 72') },
    ]);
    // Nothing changed: the token still works and the old password still opens.
    expect((await me(t, token)).status).toBe(200);
    expect((await t.login('long', ascii72)).status).toBe(200);
  });
});

describe('a password change revokes the earlier tokens', () => {
  let t: TestApi;
  let aliceId: number;
  beforeAll(async () => {
    t = await startTestApi();
    aliceId = await t.createUser('alice', 'first password');
    await t.createUser('bob', 'bobs password');
  });
  afterAll(() => t.stop());

  it('POST /me/password: earlier tokens get 401 at once, the fresh token and other users keep working', async () => {
    const phone = await t.tokenFor('alice', 'first password');
    // A token from before token versions existed (no `ver` claim) counts as version 0.
    const legacy = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(aliceId))
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(TEST_SECRET));
    const laptop = await t.tokenFor('alice', 'first password');
    const bob = await t.tokenFor('bob', 'bobs password');
    for (const token of [phone, legacy, laptop, bob]) expect((await me(t, token)).status).toBe(200);
    expect(decodeJwt(laptop).ver).toBe(0);

    const res = await changePassword(t, laptop, {
      current_password: 'first password',
      new_password: 'second password',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { token: fresh } = (await res.json()) as { token: string };
    expect(decodeJwt(fresh)).toMatchObject({ sub: String(aliceId), ver: 1 });

    for (const token of [phone, legacy, laptop]) {
      const refused = await me(t, token);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect((await problemOf(refused)).detail).toMatch(/revoked by a password change/);
    }
    expect(await (await me(t, fresh)).json()).toEqual({ id: aliceId, username: 'alice', is_admin: false });
    expect((await me(t, bob)).status).toBe(200);

    expect((await t.login('alice', 'first password')).status).toBe(401);
    const next = await t.tokenFor('alice', 'second password');
    expect(decodeJwt(next).ver).toBe(1);
    expect((await me(t, next)).status).toBe(200);
  });

  it('refuses a wrong current password with 403 and changes nothing', async () => {
    const token = await t.tokenFor('bob', 'bobs password');
    const res = await changePassword(t, token, { current_password: 'guess', new_password: 'taken over!' });
    expect(res.status).toBe(403);
    expect((await problemOf(res)).errors?.[0]?.name).toBe('current_password');
    expect((await me(t, token)).status).toBe(200);
    expect((await t.login('bob', 'bobs password')).status).toBe(200);
  });

  it('needs a token', async () => {
    const res = await fetch(`${t.url}/me/password`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ current_password: 'x', new_password: 'yyyyyyyy' }),
    });
    expect(res.status).toBe(401);
  });
});
