import { cleanTagName, normalizeTagName } from '@lumen/core';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { DB, Tags } from '../schema.generated.ts';
import { chunk, IN_LIST_CHUNK_SIZE } from './chunks.ts';
import { tagIdsByHash } from './photo-items.ts';

export type TagRow = Selectable<Tags>;

/** A tag with the number of distinct content hashes (photos) carrying it. */
export interface TagWithCount {
  id: number;
  name: string;
  photo_count: number;
}

/** A tag as a photo lists it. */
export interface TagSummary {
  id: number;
  name: string;
}

/** The photo a tag link points at: its location and its content hash (the key tags live under). */
export interface TaggedPhotoRef {
  libraryId: number;
  relPath: string;
  contentHash: string;
}

/** What `batch` did. */
export interface TagBatchResult {
  /** Links that did not exist before. */
  added: number;
  /** Links that existed and were deleted. */
  removed: number;
  /** Tags created from names in this batch. */
  createdTags: TagSummary[];
  /** Every tag id that was added (the given ids plus those of the names). */
  addedTagIds: number[];
}

/** Some of the given tag ids do not exist. */
export class UnknownTagError extends Error {
  constructor(readonly tagIds: number[]) {
    super(`unknown tag id${tagIds.length === 1 ? '' : 's'}: ${tagIds.join(', ')}`);
    this.name = 'UnknownTagError';
  }
}

/**
 * Tags and their links to photos. A link is keyed by (tag_id, content_hash), so a tag follows the
 * content across moves and duplicates (SPEC 1); library_id and rel_path record where it was seen.
 */
export class TagsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Every tag by name, with how many photos (content hashes) carry it. */
  async listAllWithCounts(): Promise<TagWithCount[]> {
    const rows = await this.db
      .selectFrom('tags as t')
      .leftJoin('tagged_photo as tp', 'tp.tag_id', 't.id')
      .select((eb) => ['t.id', 't.name', eb.fn.count<number>('tp.id').as('photo_count')])
      .groupBy(['t.id', 't.name', 't.name_normalized'])
      .orderBy('t.name_normalized')
      .orderBy('t.id')
      .execute();
    return rows.map((row) => ({ id: row.id, name: row.name, photo_count: Number(row.photo_count) }));
  }

  async findById(id: number): Promise<TagRow | undefined> {
    return this.db.selectFrom('tags').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** By name, ignoring case and spacing (normalizeTagName). */
  async findByName(name: string): Promise<TagRow | undefined> {
    return this.db
      .selectFrom('tags')
      .selectAll()
      .where('name_normalized', '=', normalizeTagName(name))
      .executeTakeFirst();
  }

  /** The tag with this name, created when new (idempotent: an existing name returns its tag). */
  async create(name: string): Promise<{ tag: TagRow; created: boolean }> {
    return this.db.transaction().execute((trx) => findOrCreateTag(trx, name));
  }

  /** The existing ids among `ids`. */
  async existingIds(ids: readonly number[]): Promise<number[]> {
    return existingTagIds(this.db, ids);
  }

  /** Tags on a content hash, by name. */
  async tagsForHash(contentHash: string): Promise<TagSummary[]> {
    return this.db
      .selectFrom('tagged_photo as tp')
      .innerJoin('tags as t', 't.id', 'tp.tag_id')
      .select(['t.id', 't.name'])
      .where('tp.content_hash', '=', contentHash)
      .orderBy('t.name_normalized')
      .orderBy('t.id')
      .execute();
  }

  /**
   * Tags on the photo at (library, path), through its content hash. Undefined when the database has
   * no such photo; [] when it has no tags or no hash yet.
   */
  async tagsForPhoto(libraryId: number, relPath: string): Promise<TagSummary[] | undefined> {
    const photo = await this.db
      .selectFrom('image_exif')
      .select('content_hash')
      .where('library_id', '=', libraryId)
      .where('rel_path', '=', relPath)
      .executeTakeFirst();
    if (!photo) return undefined;
    return photo.content_hash === null ? [] : this.tagsForHash(photo.content_hash);
  }

  /** Link a tag to a photo; true when the link is new (adding twice is harmless). */
  async addTag(tagId: number, photo: TaggedPhotoRef): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      if ((await existingTagIds(trx, [tagId])).length === 0) throw new UnknownTagError([tagId]);
      return (await insertLinks(trx, [tagId], [photo])) > 0;
    });
  }

  /** Unlink a tag from a content hash; true when there was a link. */
  async removeTag(tagId: number, contentHash: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('tagged_photo')
      .where('tag_id', '=', tagId)
      .where('content_hash', '=', contentHash)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * Add and remove tags on many photos in ONE transaction: either everything happens or nothing
   * does. Names in `addTagNames` are found or created. An unknown id in `addTagIds` or
   * `removeTagIds` throws UnknownTagError (and changes nothing). A tag both added and removed ends
   * up removed (removals run last).
   */
  async batch(input: {
    items: readonly TaggedPhotoRef[];
    addTagIds?: readonly number[];
    addTagNames?: readonly string[];
    removeTagIds?: readonly number[];
  }): Promise<TagBatchResult> {
    const addIds = [...new Set(input.addTagIds ?? [])];
    const removeIds = [...new Set(input.removeTagIds ?? [])];
    return this.db.transaction().execute(async (trx) => {
      const known = new Set(await existingTagIds(trx, [...addIds, ...removeIds]));
      const unknown = [...new Set([...addIds, ...removeIds])].filter((id) => !known.has(id));
      if (unknown.length > 0) throw new UnknownTagError(unknown);

      const createdTags: TagSummary[] = [];
      for (const name of input.addTagNames ?? []) {
        const { tag, created } = await findOrCreateTag(trx, name);
        if (created) createdTags.push({ id: tag.id, name: tag.name });
        if (!addIds.includes(tag.id)) addIds.push(tag.id);
      }
      const added = await insertLinks(trx, addIds, input.items);
      let removed = 0;
      const hashes = [...new Set(input.items.map((item) => item.contentHash))];
      if (removeIds.length > 0) {
        for (const part of chunk(hashes, IN_LIST_CHUNK_SIZE)) {
          const result = await trx
            .deleteFrom('tagged_photo')
            .where('tag_id', 'in', removeIds)
            .where('content_hash', 'in', part)
            .executeTakeFirst();
          removed += Number(result.numDeletedRows);
        }
      }
      return { added, removed, createdTags, addedTagIds: addIds };
    });
  }

  /** Tag ids per content hash (ascending), in one query per 500 hashes. */
  async tagIdsByHash(hashes: readonly string[]): Promise<Map<string, number[]>> {
    return tagIdsByHash(this.db, hashes);
  }

  /** Number of tags per content hash (hashes without tags are absent). */
  async tagCountsByHash(hashes: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const part of chunk([...new Set(hashes)], IN_LIST_CHUNK_SIZE)) {
      const rows = await this.db
        .selectFrom('tagged_photo')
        .select((eb) => ['content_hash', eb.fn.countAll<number>().as('count')])
        .where('content_hash', 'in', part)
        .groupBy('content_hash')
        .execute();
      for (const row of rows) counts.set(row.content_hash, Number(row.count));
    }
    return counts;
  }
}

async function existingTagIds(db: Kysely<DB>, ids: readonly number[]): Promise<number[]> {
  const found: number[] = [];
  for (const part of chunk([...new Set(ids)], IN_LIST_CHUNK_SIZE)) {
    const rows = await db.selectFrom('tags').select('id').where('id', 'in', part).execute();
    found.push(...rows.map((row) => row.id));
  }
  return found;
}

/** Insert-or-ignore by name_normalized, then read the row (works the same on both engines). */
async function findOrCreateTag(
  trx: Transaction<DB>,
  name: string,
): Promise<{ tag: TagRow; created: boolean }> {
  const normalized = normalizeTagName(name);
  const inserted = await trx
    .insertInto('tags')
    .values({ name: cleanTagName(name), name_normalized: normalized, created_at: new Date().toISOString() })
    .onConflict((oc) => oc.column('name_normalized').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { tag: inserted, created: true };
  const tag = await trx
    .selectFrom('tags')
    .selectAll()
    .where('name_normalized', '=', normalized)
    .executeTakeFirstOrThrow();
  return { tag, created: false };
}

/** Link every tag to every photo, skipping links that exist. Returns how many were new. */
async function insertLinks(
  trx: Kysely<DB>,
  tagIds: readonly number[],
  photos: readonly TaggedPhotoRef[],
): Promise<number> {
  const now = new Date().toISOString();
  const byHash = new Map<string, TaggedPhotoRef>();
  for (const photo of photos) if (!byHash.has(photo.contentHash)) byHash.set(photo.contentHash, photo);
  const rows = tagIds.flatMap((tagId) =>
    [...byHash.values()].map((photo) => ({
      tag_id: tagId,
      library_id: photo.libraryId,
      rel_path: photo.relPath,
      content_hash: photo.contentHash,
      created_at: now,
    })),
  );
  let added = 0;
  // 5 columns per row: 1000 rows stay far below the bound-variable limits of both engines.
  for (const part of chunk(rows, 1000)) {
    const result = await trx
      .insertInto('tagged_photo')
      .values(part)
      .onConflict((oc) => oc.columns(['tag_id', 'content_hash']).doNothing())
      .executeTakeFirst();
    added += Number(result.numInsertedOrUpdatedRows ?? 0);
  }
  return added;
}
