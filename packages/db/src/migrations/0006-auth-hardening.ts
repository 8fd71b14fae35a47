import type { Kysely, Migration } from 'kysely';
import { type DatabaseKind, dialectColumns } from './dialect-columns.ts';

/**
 * Auth hardening (issue 11):
 * - `users.token_version`: carried by every token as the `ver` claim; a password change increments
 *   it, so the tokens issued before stop working at once (a token without the claim counts as 0).
 * - `login_lockout_lifts`: an admin lifted the login lockout of a user name, an address, or both
 *   (`POST /login-lockouts/lift` or `cli lockout lift`). The lockout counts live in each api
 *   process's memory; a lift is a row so that every process, and the CLI, can make one.
 *
 * Idempotent like 0005: the column is added only when absent, the table and index `if not exists`.
 */
export function authHardeningMigration(kind: DatabaseKind): Migration {
  const t = dialectColumns(kind);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const tables = await db.introspection.getTables();
      const users = new Set(tables.find((table) => table.name === 'users')?.columns.map((c) => c.name));
      if (!users.has('token_version')) {
        await db.schema
          .alterTable('users')
          .addColumn('token_version', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      }
      await db.schema
        .createTable('login_lockout_lifts')
        .ifNotExists()
        .addColumn('id', 'integer', t.id)
        // Null: every user name (the lift is for an address).
        .addColumn('username', 'text')
        // Null: every address (the lift is for a user name).
        .addColumn('address', 'text')
        // Milliseconds since the epoch: failures counted up to then are forgotten.
        .addColumn('lifted_at_ms', t.bigint, (c) => c.notNull())
        .addColumn('lifted_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('login_lockout_lifts_lifted_at_ms_idx')
        .ifNotExists()
        .on('login_lockout_lifts')
        .column('lifted_at_ms')
        .execute();
    },
  };
}
