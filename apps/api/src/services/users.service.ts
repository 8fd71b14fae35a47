import { randomBytes } from 'node:crypto';
import type { UserRow, UsersRepository } from '@lumen/db';
import { hash, verify } from '@node-rs/bcrypt';

/**
 * User accounts: the rules for names and passwords, hashing, and the operations the
 * CLI (`user add|passwd|list`) and standalone's admin bootstrap share.
 */

export const BCRYPT_COST = 12;
export const MIN_PASSWORD_LENGTH = 8;
/** bcrypt ignores every byte after the 72nd: longer passwords are refused, not silently cut. */
export const MAX_PASSWORD_BYTES = 72;
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const DEFAULT_ADMIN_USERNAME = 'admin';

export type UserErrorCode = 'invalid-username' | 'invalid-password' | 'duplicate-user' | 'unknown-user';

/** A rule was broken; `message` names the bad value and says what is allowed. */
export class UserError extends Error {
  constructor(
    readonly code: UserErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export interface UserAccount {
  id: number;
  username: string;
  isAdmin: boolean;
  createdAt: string;
}

export function checkUsername(username: string): void {
  if (!USERNAME_PATTERN.test(username)) {
    throw new UserError(
      'invalid-username',
      `invalid username "${username}": use 1 to 64 letters, digits, . _ @ - (starting with a letter or digit)`,
    );
  }
}

export function checkPassword(password: string): void {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) {
    throw new UserError(
      'invalid-password',
      `password too short: ${length} characters, at least ${MIN_PASSWORD_LENGTH} are required`,
    );
  }
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes > MAX_PASSWORD_BYTES) {
    throw new UserError(
      'invalid-password',
      `password too long: ${bytes} bytes, at most ${MAX_PASSWORD_BYTES} are allowed (bcrypt limit)`,
    );
  }
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, BCRYPT_COST);
}

/**
 * False (never a throw) for a malformed stored hash, and for a password longer than
 * MAX_PASSWORD_BYTES: bcrypt reads only the first 72 bytes, so `<the 72 right bytes>WRONG-SUFFIX`
 * would otherwise match. No stored password can be longer (checkPassword refuses them), and the
 * comparison still runs (on an empty password) so the answer takes as long.
 */
export async function verifyPassword(password: string, passwordHash: string): Promise<boolean> {
  const tooLong = Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES;
  try {
    const matches = await verify(tooLong ? '' : password, passwordHash);
    return matches && !tooLong;
  } catch {
    return false;
  }
}

/** A random password for a generated account: 24 URL-safe characters (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** A unique-constraint violation from SQLite or Postgres (a concurrent create won the race). */
function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

function toAccount(row: Pick<UserRow, 'id' | 'username' | 'is_admin' | 'created_at'>): UserAccount {
  return {
    id: Number(row.id),
    username: row.username,
    isAdmin: Boolean(row.is_admin),
    createdAt: row.created_at,
  };
}

export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  async create(input: { username: string; password: string; isAdmin?: boolean }): Promise<UserAccount> {
    checkUsername(input.username);
    checkPassword(input.password);
    if (await this.users.findByUsername(input.username)) {
      throw new UserError('duplicate-user', `user "${input.username}" already exists`);
    }
    const passwordHash = await hashPassword(input.password);
    try {
      const row = await this.users.create({
        username: input.username,
        passwordHash,
        isAdmin: input.isAdmin ?? false,
      });
      return toAccount(row);
    } catch (err) {
      if (isUniqueViolation(err))
        throw new UserError('duplicate-user', `user "${input.username}" already exists`);
      throw err;
    }
  }

  async changePassword(username: string, password: string): Promise<void> {
    const user = await this.users.findByUsername(username);
    if (!user) throw new UserError('unknown-user', `unknown user "${username}"`);
    checkPassword(password);
    await this.users.updatePassword(user.id, await hashPassword(password));
  }

  async find(username: string): Promise<UserAccount | undefined> {
    const row = await this.users.findByUsername(username);
    return row ? toAccount(row) : undefined;
  }

  async list(): Promise<UserAccount[]> {
    return (await this.users.list()).map(toAccount);
  }

  /** See `ensureAdminUser`. */
  async ensureAdmin(
    opts: { password?: string; username?: string } = {},
  ): Promise<{ created: boolean; password?: string }> {
    const users = await this.list();
    if (users.some((u) => u.isAdmin)) return { created: false };
    const username = opts.username ?? DEFAULT_ADMIN_USERNAME;
    if (users.some((u) => u.username === username)) {
      throw new UserError(
        'duplicate-user',
        `no admin exists and user "${username}" is taken by a non-admin; create an admin with the CLI`,
      );
    }
    if (opts.password !== undefined) {
      await this.create({ username, password: opts.password, isAdmin: true });
      return { created: true };
    }
    const password = generatePassword();
    await this.create({ username, password, isAdmin: true });
    return { created: true, password };
  }
}

/**
 * First-start bootstrap: when no admin exists, create `admin` with `password`
 * (e.g. ADMIN_PASSWORD) or a generated one, returned once so it can be shown.
 * Does nothing when an admin already exists.
 */
export function ensureAdminUser(
  usersRepo: UsersRepository,
  opts: { password?: string; username?: string } = {},
): Promise<{ created: boolean; password?: string }> {
  return new UsersService(usersRepo).ensureAdmin(opts);
}
