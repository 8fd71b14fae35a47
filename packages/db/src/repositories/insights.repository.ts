import type { Kysely, Selectable } from 'kysely';
import type { DB, PhotoInsights } from '../schema.generated.ts';

export type InsightRow = Selectable<PhotoInsights>;

export interface NewInsight {
  libraryId: number;
  relPath: string;
  contentHash: string;
  title: string | null;
  summary: string | null;
  model: string;
  backend: string;
  transcript: string;
}

/**
 * Photo insights, keyed by content hash like tags (they follow a moved or duplicated file). A photo
 * has at most one current insight: a new one (regeneration, amend) makes the older ones history.
 */
export class InsightsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The current insight of a content, if any. */
  async current(contentHash: string): Promise<InsightRow | undefined> {
    return this.db
      .selectFrom('photo_insights')
      .selectAll()
      .where('content_hash', '=', contentHash)
      .where('is_current', '=', 1)
      .orderBy('id', 'desc')
      .executeTakeFirst();
  }

  /** Every insight of a content, newest first. */
  async history(contentHash: string): Promise<InsightRow[]> {
    return this.db
      .selectFrom('photo_insights')
      .selectAll()
      .where('content_hash', '=', contentHash)
      .orderBy('id', 'desc')
      .execute();
  }

  async byId(id: number): Promise<InsightRow | undefined> {
    return this.db.selectFrom('photo_insights').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Insert the new current insight; the older ones of the content stop being current (one transaction). */
  async insertCurrent(insight: NewInsight): Promise<InsightRow> {
    const now = new Date().toISOString();
    return this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('photo_insights')
        .set({ is_current: 0 })
        .where('content_hash', '=', insight.contentHash)
        .where('is_current', '=', 1)
        .execute();
      return trx
        .insertInto('photo_insights')
        .values({
          library_id: insight.libraryId,
          rel_path: insight.relPath,
          content_hash: insight.contentHash,
          title: insight.title,
          summary: insight.summary,
          model: insight.model,
          backend: insight.backend,
          transcript: insight.transcript,
          is_current: 1,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    });
  }

  /** Store a chat turn on an insight (its transcript, and who answered). */
  async updateTranscript(
    id: number,
    change: { transcript: string; model?: string; backend?: string; summary?: string | null },
  ): Promise<void> {
    await this.db
      .updateTable('photo_insights')
      .set({
        transcript: change.transcript,
        updated_at: new Date().toISOString(),
        ...(change.model !== undefined ? { model: change.model } : {}),
        ...(change.backend !== undefined ? { backend: change.backend } : {}),
        ...(change.summary !== undefined ? { summary: change.summary } : {}),
      })
      .where('id', '=', id)
      .execute();
  }

  /** Rate an insight (-1..5); false when there is no such row. */
  async rate(id: number, rating: number): Promise<boolean> {
    const result = await this.db
      .updateTable('photo_insights')
      .set({ rating })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
