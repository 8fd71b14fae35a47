import type { Kysely, Selectable } from 'kysely';
import type { DB, LoginLockoutLifts } from '../schema.generated.ts';

export type LoginLockoutLiftRow = Selectable<LoginLockoutLifts>;

export interface NewLoginLockoutLift {
  /** Undefined: every user name (a lift for an address). */
  username?: string | undefined;
  /** Undefined: every address (a lift for a user name). */
  address?: string | undefined;
  liftedAtMs: number;
  /** Who lifted it: `admin:<name>` from the api, `cli` from the command line. */
  liftedBy: string;
}

/** Lifts of the login lockout (see migration 0006): written by admins, read by every api process. */
export class LoginLockoutLiftsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async add(lift: NewLoginLockoutLift): Promise<LoginLockoutLiftRow> {
    return this.db
      .insertInto('login_lockout_lifts')
      .values({
        username: lift.username ?? null,
        address: lift.address ?? null,
        lifted_at_ms: lift.liftedAtMs,
        lifted_by: lift.liftedBy,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * Lifts made after `sinceMs` that concern a login of `username` from `address`: those that cover
   * the name at that address (for the name on any address, the address for any name, or both), and
   * every lift that names the address (each one lifts the address limit). Oldest first.
   */
  async matching(sinceMs: number, username: string, address: string): Promise<LoginLockoutLiftRow[]> {
    return this.db
      .selectFrom('login_lockout_lifts')
      .selectAll()
      .where('lifted_at_ms', '>', sinceMs)
      .where((eb) =>
        eb.or([
          eb('address', '=', address),
          eb.and([
            eb.or([eb('username', 'is', null), eb('username', '=', username)]),
            eb('address', 'is', null),
          ]),
        ]),
      )
      .orderBy('lifted_at_ms')
      .orderBy('id')
      .execute();
  }

  /** Drop lifts made before `beforeMs` (they no longer matter); returns how many. */
  async prune(beforeMs: number): Promise<number> {
    const result = await this.db
      .deleteFrom('login_lockout_lifts')
      .where('lifted_at_ms', '<', beforeMs)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
