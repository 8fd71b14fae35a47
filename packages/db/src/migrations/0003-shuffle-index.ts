import { type Kysely, type Migration, sql } from 'kysely';
import { scrambledIdSql } from '../repositories/photo-filters.ts';

/**
 * image_exif_shuffle_idx: an index on the scramble of the id (scrambledIdSql; scrambleId in
 * @lumen/core). A Shuffle page reads the rows of a few scramble ranges (blocks) through it instead
 * of sorting every match (docs/decisions.md, "Shuffle: seeded order of scrambled-id blocks"). An
 * index on an expression, not a column: inserts need nothing new. Raw SQL because Postgres wants
 * the expression in its own parentheses, which SQLite accepts too.
 */
export function shuffleIndexMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`create index image_exif_shuffle_idx on image_exif (${scrambledIdSql('id')})`.execute(db);
    },
  };
}
