import type { Migration } from 'kysely';
import { initialMigration } from './0001-initial.ts';
import { photoQueryIndexesMigration } from './0002-photo-query-indexes.ts';
import { shuffleIndexMigration } from './0003-shuffle-index.ts';
import { tagFilterIndexesMigration } from './0004-tag-filter-indexes.ts';
import { missingFilesMigration } from './0005-missing-files.ts';
import { authHardeningMigration } from './0006-auth-hardening.ts';
import { faceSearchMigration } from './0007-face-search.ts';
import { insightsMigration } from './0009-insights.ts';
import { faceCodesMigration } from './0010-face-codes.ts';
import { jobOutboxMigration } from './0011-job-outbox.ts';
import type { DatabaseKind } from './dialect-columns.ts';

/**
 * Every migration, by name (run in name order). Listed in code, not globbed from a folder, so they
 * run the same under tsx, vitest and a bundle. Add new ones at the end with a higher number.
 */
export function migrationsFor(kind: DatabaseKind): Record<string, Migration> {
  return {
    '0001-initial': initialMigration(kind),
    '0002-photo-query-indexes': photoQueryIndexesMigration(),
    '0003-shuffle-index': shuffleIndexMigration(),
    '0004-tag-filter-indexes': tagFilterIndexesMigration(),
    '0005-missing-files': missingFilesMigration(kind),
    '0006-auth-hardening': authHardeningMigration(kind),
    '0007-face-search': faceSearchMigration(),
    '0009-insights': insightsMigration(kind),
    '0010-face-codes': faceCodesMigration(kind),
    '0011-job-outbox': jobOutboxMigration(kind),
  };
}
