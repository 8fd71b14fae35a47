import type { Insertable, Kysely, Selectable } from 'kysely';
import type { DB, Users } from '../schema.generated.ts';

export type UserRow = Selectable<Users>;
export type NewUser = Insertable<Users>;
/** A user as listed: everything except the password hash and the token version. */
export type UserSummary = Omit<UserRow, 'password_hash' | 'token_version'>;

export interface CreateUserInput {
  username: string;
  passwordHash: string;
  isAdmin: boolean;
}

const SUMMARY_COLUMNS = ['id', 'username', 'is_admin', 'created_at', 'updated_at'] as const;

export class UsersRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Exact (case-sensitive) match, as the UNIQUE constraint. */
  async findByUsername(username: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  }

  async findById(id: number): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Insert a user; throws on a duplicate username (UNIQUE). */
  async create(input: CreateUserInput): Promise<UserRow> {
    const now = new Date().toISOString();
    return this.db
      .insertInto('users')
      .values({
        username: input.username,
        password_hash: input.passwordHash,
        is_admin: input.isAdmin ? 1 : 0,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * Set a new password hash and increment `token_version` in the same statement, so every token
   * issued before no longer matches. Returns false when no user has that id.
   */
  async updatePassword(id: number, passwordHash: string): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set((eb) => ({
        password_hash: passwordHash,
        updated_at: new Date().toISOString(),
        token_version: eb('token_version', '+', 1),
      }))
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** All users by id, without password hashes. */
  async list(): Promise<UserSummary[]> {
    return this.db.selectFrom('users').select(SUMMARY_COLUMNS).orderBy('id').execute();
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}
