import type { Kysely, Migration } from 'kysely';
import { type DatabaseKind, dialectColumns } from './dialect-columns.ts';

/**
 * Face similarity search by binary codes (issue 13, docs/decisions.md "Face similarity search"):
 * - `face_code_versions`: one counter per block of 1,024 face ids, raised in the same transaction
 *   as every write that adds or removes faces of that block;
 * - `face_code_blocks`: per model and block, the binary codes of its searchable faces, built from
 *   `face_detections` when missing or when the block's counter moved on since (`version`);
 * - `face_code_centers`: per model, the mean vector the codes are taken around; a block built
 *   around an older center (`center_version`) is rebuilt.
 * All three are derived: deleting their rows loses nothing, they are rebuilt on the next search.
 * Idempotent (`if not exists`).
 */
export function faceCodesMigration(kind: DatabaseKind): Migration {
  const t = dialectColumns(kind);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('face_code_versions')
        .ifNotExists()
        .addColumn('block_no', 'integer', (c) => c.primaryKey().notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('face_code_centers')
        .ifNotExists()
        .addColumn('model_version', 'text', (c) => c.primaryKey().notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('faces', 'integer', (c) => c.notNull())
        .addColumn('center', t.bytes, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('face_code_blocks')
        .ifNotExists()
        .addColumn('model_version', 'text', (c) => c.notNull())
        .addColumn('block_no', 'integer', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('center_version', 'integer', (c) => c.notNull())
        .addColumn('faces', 'integer', (c) => c.notNull())
        .addColumn('face_ids', t.bytes, (c) => c.notNull())
        .addColumn('codes', t.bytes, (c) => c.notNull())
        .addPrimaryKeyConstraint('face_code_blocks_pkey', ['model_version', 'block_no'])
        .execute();
    },
  };
}
