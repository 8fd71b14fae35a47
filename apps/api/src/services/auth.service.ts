import { randomBytes, webcrypto } from 'node:crypto';
import type { ReadCache, UsersRepository } from '@lumen/db';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { AuthUser } from '../http/app-env.ts';
import { checkPassword, hashPassword, verifyPassword } from './users.service.ts';

/** SPEC 4: tokens expire 5 days after they are issued. */
export const TOKEN_TTL_SECONDS = 5 * 24 * 60 * 60;
export const TOKEN_ALGORITHM = 'HS256';
/** Verified tokens remembered (see AuthService.verifiedTokens): a few per signed-in client. */
const VERIFIED_TOKENS_KEPT = 1000;

export type TokenFailure = 'expired' | 'invalid' | 'unknown-user' | 'revoked';

/** A verified token's subject (user id), expiry and token version (`ver`; 0 when absent). */
interface VerifiedClaims {
  sub: string;
  exp: number;
  ver: number;
}

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
  private readonly verifiedTokens = new Map<string, VerifiedClaims>();

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

  /**
   * A token for valid credentials, undefined otherwise (unknown user and bad password look alike).
   * A password longer than 72 bytes never matches (see verifyPassword): bcrypt would compare only
   * its first 72.
   */
  async login(username: string, password: string): Promise<string | undefined> {
    const user = await this.users.findByUsername(username);
    const ok = await verifyPassword(password, user?.password_hash ?? (await this.dummyHash));
    if (!user || !ok) return undefined;
    return this.issueToken(Number(user.id), Number(user.token_version));
  }

  /**
   * Change the signed-in user's own password: the current one must be right (else undefined).
   * The new one follows the password rules (UserError otherwise). The user's token version is
   * incremented with the new hash, so every token issued before stops working at once; the
   * answer is a fresh token, so the client that made the change stays signed in.
   */
  async changePassword(
    userId: number,
    currentPassword: string,
    newPassword: string,
  ): Promise<string | undefined> {
    const user = await this.users.findById(userId);
    if (!user || !(await verifyPassword(currentPassword, user.password_hash))) return undefined;
    checkPassword(newPassword);
    await this.users.updatePassword(user.id, await hashPassword(newPassword));
    const updated = await this.users.findById(userId);
    if (!updated) return undefined;
    return this.issueToken(Number(updated.id), Number(updated.token_version));
  }

  /** A signed token for `userId`, carrying its current token version as `ver`. */
  async issueToken(
    userId: number,
    tokenVersion: number,
    nowSeconds = Math.floor(Date.now() / 1000),
  ): Promise<string> {
    return new SignJWT({ ver: tokenVersion })
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT' })
      .setSubject(String(userId))
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + TOKEN_TTL_SECONDS)
      .sign(await this.key);
  }

  /**
   * The user a bearer token belongs to; throws TokenError for anything not valid. The user is looked
   * up on every request (a deleted user loses access at once) and the token's version must be the
   * user's (a password change revokes the tokens issued before it); the signature check is not
   * repeated for a token seen before (see #verifiedTokens).
   */
  async authenticate(token: string): Promise<AuthUser> {
    const { sub, ver } = await this.verifiedClaims(token);
    const find = () => this.users.findById(Number(sub));
    const user = this.reads ? await this.reads.get(`user:${sub}`, find) : await find();
    if (!user) throw new TokenError('unknown-user', 'the token belongs to a user that no longer exists');
    if (Number(user.token_version) !== ver) {
      throw new TokenError('revoked', 'the token was revoked by a password change; sign in again');
    }
    return { id: Number(user.id), username: user.username, isAdmin: Boolean(user.is_admin) };
  }

  /** The claims of a token whose signature and claims hold now. */
  private async verifiedClaims(
    token: string,
    nowSeconds = Math.floor(Date.now() / 1000),
  ): Promise<VerifiedClaims> {
    const seen = this.verifiedTokens.get(token);
    if (seen) {
      // The same rule as jose's: expired once `exp` is reached.
      if (seen.exp > nowSeconds) return seen;
      this.verifiedTokens.delete(token);
      throw new TokenError('expired', 'the token has expired');
    }
    let sub: string | undefined;
    let exp: number | undefined;
    let ver: unknown;
    try {
      const { payload } = await jwtVerify(token, await this.key, {
        algorithms: [TOKEN_ALGORITHM],
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      sub = payload.sub;
      exp = payload.exp;
      ver = payload.ver;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new TokenError('expired', 'the token has expired');
      throw new TokenError('invalid', 'the token is malformed or its signature is not valid');
    }
    if (!sub || !/^[1-9]\d{0,15}$/.test(sub))
      throw new TokenError('invalid', 'the token subject is not a user id');
    // Tokens issued before token versions existed carry none: version 0, as every user had then.
    if (ver !== undefined && !(Number.isSafeInteger(ver) && (ver as number) >= 0))
      throw new TokenError('invalid', 'the token version is not a whole number');
    const claims: VerifiedClaims = {
      sub,
      exp: exp ?? Number.POSITIVE_INFINITY,
      ver: (ver as number | undefined) ?? 0,
    };
    if (exp !== undefined) {
      this.verifiedTokens.set(token, claims);
      if (this.verifiedTokens.size > VERIFIED_TOKENS_KEPT) {
        this.verifiedTokens.delete(this.verifiedTokens.keys().next().value as string);
      }
    }
    return claims;
  }
}
