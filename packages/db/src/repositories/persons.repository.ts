import { cleanTagName, normalizeTagName } from '@lumen/core';
import type { Kysely, Selectable } from 'kysely';
import type { DB, Persons } from '../schema.generated.ts';

export type PersonRow = Selectable<Persons>;

export interface PersonWithCounts extends PersonRow {
  face_count: number;
  photo_count: number;
}

/** Another person has this name (names are unique ignoring case and spacing, like tags). */
export class PersonNameTakenError extends Error {
  constructor(
    readonly personName: string,
    readonly existingId: number,
  ) {
    super(`a person named "${personName}" exists (id ${existingId})`);
    this.name = 'PersonNameTakenError';
  }
}

/** persons: names unique case-insensitively (`name_normalized`, the tag-name key). */
export class PersonsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async create(name: string, notes: string | null = null): Promise<PersonRow> {
    const clean = cleanTagName(name);
    const existing = await this.findByName(clean);
    if (existing) throw new PersonNameTakenError(clean, existing.id);
    const now = new Date().toISOString();
    return this.db
      .insertInto('persons')
      .values({
        name: clean,
        name_normalized: normalizeTagName(clean),
        notes,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async findById(id: number): Promise<PersonRow | undefined> {
    return this.db.selectFrom('persons').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findByName(name: string): Promise<PersonRow | undefined> {
    return this.db
      .selectFrom('persons')
      .selectAll()
      .where('name_normalized', '=', normalizeTagName(name))
      .executeTakeFirst();
  }

  /** Every person by name, with faces and distinct photos (content hashes). */
  async list(): Promise<PersonWithCounts[]> {
    const rows = await this.db
      .selectFrom('persons as p')
      .leftJoin('face_detections as fd', 'fd.person_id', 'p.id')
      .selectAll('p')
      .select((eb) => [
        eb.fn.count<number>('fd.id').as('face_count'),
        eb.fn.count<number>('fd.content_hash').distinct().as('photo_count'),
      ])
      .groupBy([
        'p.id',
        'p.name',
        'p.name_normalized',
        'p.cover_face_id',
        'p.notes',
        'p.created_at',
        'p.updated_at',
      ])
      .orderBy('p.name_normalized')
      .orderBy('p.id')
      .execute();
    return rows.map((r) => ({ ...r, face_count: Number(r.face_count), photo_count: Number(r.photo_count) }));
  }

  async withCounts(id: number): Promise<PersonWithCounts | undefined> {
    return (await this.list()).find((p) => p.id === id);
  }

  /** Change name and/or notes. */
  async update(
    id: number,
    changes: { name?: string; notes?: string | null },
  ): Promise<PersonRow | undefined> {
    const set: Partial<PersonRow> = { updated_at: new Date().toISOString() };
    if (changes.name !== undefined) {
      const clean = cleanTagName(changes.name);
      const other = await this.findByName(clean);
      if (other && other.id !== id) throw new PersonNameTakenError(clean, other.id);
      set.name = clean;
      set.name_normalized = normalizeTagName(clean);
    }
    if (changes.notes !== undefined) set.notes = changes.notes;
    return this.db.updateTable('persons').set(set).where('id', '=', id).returningAll().executeTakeFirst();
  }

  /** The cover must be one of the person's faces (checked by the caller). */
  async setCover(id: number, faceId: number | null): Promise<void> {
    await this.db
      .updateTable('persons')
      .set({ cover_face_id: faceId, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .execute();
  }

  /** Delete a person; their faces become unassigned (the foreign key sets null). */
  async delete(id: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.updateTable('face_detections').set({ person_id: null }).where('person_id', '=', id).execute();
      const result = await trx.deleteFrom('persons').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  /**
   * Merge `sourceId` into `targetId`: the source's faces move, the source is deleted, the target
   * keeps its name and cover (or takes the source's cover when it had none). Returns faces moved.
   */
  async merge(sourceId: number, targetId: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const [source, target] = await Promise.all([
        trx.selectFrom('persons').selectAll().where('id', '=', sourceId).executeTakeFirst(),
        trx.selectFrom('persons').selectAll().where('id', '=', targetId).executeTakeFirst(),
      ]);
      if (!source || !target) throw new Error('merge of an unknown person');
      const moved = await trx
        .updateTable('face_detections')
        .set({ person_id: targetId })
        .where('person_id', '=', sourceId)
        .executeTakeFirst();
      if (target.cover_face_id === null && source.cover_face_id !== null) {
        await trx
          .updateTable('persons')
          .set({ cover_face_id: source.cover_face_id })
          .where('id', '=', targetId)
          .execute();
      }
      await trx
        .updateTable('persons')
        .set({ updated_at: new Date().toISOString() })
        .where('id', '=', targetId)
        .execute();
      await trx.deleteFrom('persons').where('id', '=', sourceId).execute();
      return Number(moved.numUpdatedRows);
    });
  }

  /** Persons whose name is one of the tags of a content (auto-bind by tag name). */
  async taggedOnContent(contentHash: string): Promise<PersonRow[]> {
    return this.db
      .selectFrom('persons as p')
      .innerJoin('tags as t', 't.name_normalized', 'p.name_normalized')
      .innerJoin('tagged_photo as tp', 'tp.tag_id', 't.id')
      .selectAll('p')
      .distinct()
      .where('tp.content_hash', '=', contentHash)
      .orderBy('p.id')
      .execute();
  }
}
