import type { Kysely, Selectable } from 'kysely';
import type { AppSettings, DB } from '../schema.generated.ts';

export type AppSettingRow = Selectable<AppSettings>;

/** Small key/value store (scan cursors and the like). Values are text; callers encode anything else. */
export class SettingsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async get(key: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('app_settings')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value;
  }

  /** Insert or replace. */
  async set(key: string, value: string): Promise<void> {
    const updatedAt = new Date().toISOString();
    await this.db
      .insertInto('app_settings')
      .values({ key, value, updated_at: updatedAt })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: updatedAt }))
      .execute();
  }

  /** Returns false when the key was not set. */
  async delete(key: string): Promise<boolean> {
    const result = await this.db.deleteFrom('app_settings').where('key', '=', key).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
