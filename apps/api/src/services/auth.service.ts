import { randomBytes, webcrypto } from 'node:crypto';
import type { ReadCache, UsersRepository } from '@lumen/db';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { AuthUser } from '../http/app-env.ts';
import { hashPassword, verifyPassword } from './users.service.ts';

/** SPEC 4: tokens expire 5 days after they are issued. */
export const TOKEN_TTL_SECONDS = 5 * 24 * 60 * 60;
export const TOKEN_ALGORITHM = 'HS256';
/** Verified tokens remembered (see AuthService.verifiedTokens): a few per signed-in client. */
const VERIFIED_TOKENS_KEPT = 1000;

export type TokenFailure = 'expired' | 'invalid' | 'unknown-user';

/** A bearer token was refused; `reason` says why (it goes into `WWW-Authenticate`). */
export class TokenError extends Error {
  constructor(
    readonly reason: TokenFailure,
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

/** Password login and JWT (HS256, `SECRET_KEY`) issue and verification. */
export class AuthService {
  /**
   * The HMAC key, imported once: jose re-imports a raw (Uint8Array) key with WebCrypto on every sign
   * and verify, which was a measurable part of each authenticated request.
   */
  private readonly key: Promise<webcrypto.CryptoKey>;
  /** Compared against for unknown users, so a login takes as long whether the user exists or not. */
  private readonly dummyHash: Promise<string>;
  /**
   * Tokens whose signature and claims were verified, with their subject and expiry (the oldest
   * dropped beyond VERIFIED_TOKENS_KEPT). The HMAC of the same bytes under the same key cannot
   * change, so a token seen before only needs its expiry checked again: WebCrypto's verify costs
   * about 0.1 ms per request, as much as the rest of a thumbnail request's auth.
   */
  private readonly verifiedTokens = new Map<string, { sub: string; exp: number }>();

  /**
   * `reads`: keeps user rows until the database changes (see ReadCache), so a deleted or demoted
   * user is seen at the next request, whichever process changed it.
   */
  constructor(
    private readonly users: UsersRepository,
    secretKey: string,
    private readonly reads?: ReadCache,
  ) {
    this.key = webcrypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secretKey),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    // A failed import surfaces where the key is awaited (sign/verify), not as an unhandled rejection.
    this.key.catch(() => {});
    this.dummyHash = hashPassword(randomBytes(16).toString('hex'));
  }

  /** A token for valid credentials, undefined otherwise (unknown user and bad password look alike). */
  async login(username: string, password: string): Promise<string | undefined> {
    const user = await this.users.findByUsername(username);
    const ok = await verifyPassword(password, user?.password_hash ?? (await this.dummyHash));
    if (!user || !ok) return undefined;
    return this.issueToken(Number(user.id));
  }

  async issueToken(userId: number, nowSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT' })
      .setSubject(String(userId))
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + TOKEN_TTL_SECONDS)
      .sign(await this.key);
  }

  /**
   * The user a bearer token belongs to; throws TokenError for anything not valid. The user is looked
   * up on every request (a deleted user loses access at once); the signature check is not repeated
   * for a token seen before (see #verifiedTokens).
   */
  async authenticate(token: string): Promise<AuthUser> {
    const sub = await this.verifiedSubject(token);
    const find = () => this.users.findById(Number(sub));
    const user = this.reads ? await this.reads.get(`user:${sub}`, find) : await find();
    if (!user) throw new TokenError('unknown-user', 'the token belongs to a user that no longer exists');
    return { id: Number(user.id), username: user.username, isAdmin: Boolean(user.is_admin) };
  }

  /** The subject (user id) of a token whose signature and claims hold now. */
  private async verifiedSubject(token: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
    const seen = this.verifiedTokens.get(token);
    if (seen) {
      // The same rule as jose's: expired once `exp` is reached.
      if (seen.exp > nowSeconds) return seen.sub;
      this.verifiedTokens.delete(token);
      throw new TokenError('expired', 'the token has expired');
    }
    let sub: string | undefined;
    let exp: number | undefined;
    try {
      const { payload } = await jwtVerify(token, await this.key, {
        algorithms: [TOKEN_ALGORITHM],
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      sub = payload.sub;
      exp = payload.exp;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new TokenError('expired', 'the token has expired');
      throw new TokenError('invalid', 'the token is malformed or its signature is not valid');
    }
    if (!sub || !/^[1-9]\d{0,15}$/.test(sub))
      throw new TokenError('invalid', 'the token subject is not a user id');
    if (exp !== undefined) {
      this.verifiedTokens.set(token, { sub, exp });
      if (this.verifiedTokens.size > VERIFIED_TOKENS_KEPT) {
        this.verifiedTokens.delete(this.verifiedTokens.keys().next().value as string);
      }
    }
    return sub;
  }
}
