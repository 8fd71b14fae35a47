export type { DatabaseKind } from './migrations/dialect-columns.ts';
export { migrationsFor } from './migrations/migration-list.ts';
export {
  type Database,
  type DatabaseTarget,
  migrateToLatest,
  type OpenDatabaseOptions,
  openDatabase,
} from './open-database.ts';
export { ReadCache } from './read-cache.ts';
export * from './repositories/face-code-index.ts';
export * from './repositories/face-vector-index.ts';
export * from './repositories/faces.repository.ts';
export * from './repositories/favorites.repository.ts';
export type {
  FollowedEdit,
  PendingPreview,
  UpsertFollowingEditsResult,
} from './repositories/image-exif.repository.ts';
export {
  type DirectoryEntry,
  type ImageExifInput,
  ImageExifRepository,
  type ImageExifRow,
  type NewImageExif,
  type ThumbStatus,
  type UpsertedImage,
} from './repositories/image-exif.repository.ts';
export * from './repositories/insights.repository.ts';
export * from './repositories/job-outbox.repository.ts';
export {
  LibrariesRepository,
  type LibraryRow,
  type LibrarySpec,
  type LibraryStatus,
  type MediaTypeCounts,
  type NewLibrary,
  type ScanKind,
} from './repositories/libraries.repository.ts';
export * from './repositories/login-lockout-lifts.repository.ts';
export * from './repositories/maintenance.repository.ts';
export * from './repositories/memories.repository.ts';
export * from './repositories/missing-files.repository.ts';
export * from './repositories/persons.repository.ts';
export * from './repositories/photos.repository.ts';
export { type AppSettingRow, SettingsRepository } from './repositories/settings.repository.ts';
export * from './repositories/summary-vectors.repository.ts';
export * from './repositories/tags.repository.ts';
export {
  type CreateUserInput,
  type NewUser,
  type UserRow,
  type UserSummary,
  UsersRepository,
} from './repositories/users.repository.ts';
export type * from './schema.generated.ts';
