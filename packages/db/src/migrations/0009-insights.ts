import type { Kysely, Migration } from 'kysely';
import { type DatabaseKind, dialectColumns } from './dialect-columns.ts';

/**
 * AI insights (issue 14):
 * - `photo_insights` gains `backend` (ollama | openrouter: who wrote the last turn) and
 *   `updated_at` (the last chat turn); an index finds a photo's current insight.
 * - `conversation_summaries`: one summary per day and contact of the SMS API's conversations,
 *   unique on (day, contact) so a re-run skips what is done (idempotent, resumable).
 * - `summary_embeddings`: each summary's vector (float32 little-endian bytes), searched by the
 *   conversation-search tool (sqlite-vec on SQLite, an exact scan or pgvector on Postgres).
 *
 * Idempotent like 0005: tables and indexes `if not exists`, columns added only when absent.
 */
export function insightsMigration(kind: DatabaseKind): Migration {
  const t = dialectColumns(kind);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const insightColumns = await columnsOf(db, 'photo_insights');
      for (const column of ['backend', 'updated_at']) {
        if (insightColumns.has(column)) continue;
        await db.schema.alterTable('photo_insights').addColumn(column, 'text').execute();
      }
      await db.schema
        .createIndex('photo_insights_content_hash_is_current_idx')
        .ifNotExists()
        .on('photo_insights')
        .columns(['content_hash', 'is_current'])
        .execute();

      await db.schema
        .createTable('conversation_summaries')
        .ifNotExists()
        .addColumn('id', 'integer', t.id)
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('contact', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('message_count', 'integer', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('conversation_summaries_day_contact_key', ['day', 'contact'])
        .execute();

      await db.schema
        .createTable('summary_embeddings')
        .ifNotExists()
        .addColumn('summary_id', 'integer', (c) =>
          c.primaryKey().notNull().references('conversation_summaries.id').onDelete('cascade'),
        )
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('dims', 'integer', (c) => c.notNull())
        .addColumn('embedding', t.bytes, (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}

async function columnsOf(db: Kysely<unknown>, table: string): Promise<Set<string>> {
  const tables = await db.introspection.getTables();
  const found = tables.find((t) => t.name === table);
  return new Set(found?.columns.map((c) => c.name) ?? []);
}
