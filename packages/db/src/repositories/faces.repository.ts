import { embeddingFromBytes, embeddingToBytes, matchRedetectedFaces, type RelativeBox } from '@lumen/core';
import { type Kysely, type Selectable, type SqlBool, sql, type Transaction } from 'kysely';
import type { DatabaseKind } from '../migrations/dialect-columns.ts';
import type { DB, FaceDetections } from '../schema.generated.ts';
import { chunk, IN_LIST_CHUNK_SIZE } from './chunks.ts';
import { touchFaceCodeBlocks } from './face-code-index.ts';
import { excludedDirConditions } from './photo-filters.ts';

export type FaceRow = Selectable<FaceDetections>;

/** An auto face that belongs to a person, remembered across a re-detection. */
interface AssignedFace {
  personId: number;
  cover: boolean;
  box: RelativeBox;
}
export type FaceStatus = 'detected' | 'no_faces' | 'failed';
export type FaceSource = 'auto' | 'manual';

/** A photo waiting for detection: one location of a content hash that has no face row yet. */
export interface FaceBacklogItem {
  imageId: number;
  libraryId: number;
  libraryName: string;
  root: string;
  relPath: string;
  contentHash: string;
  mediaType: string;
  orientation: number | null;
}

/** A face to store (box as fractions of the upright image). */
export interface NewFace {
  box: { x: number; y: number; w: number; h: number };
  embedding: Float32Array;
  confidence: number | null;
  source: FaceSource;
  modelVersion: string;
  /** True for a forced manual face (zero embedding). */
  zero?: boolean;
}

/** A face with its embedding decoded (for auto-bind, clustering, search). */
export interface FaceVector {
  id: number;
  personId: number | null;
  clusterId: number | null;
  embedding: Float32Array;
}

const FACE_COLUMNS = [
  'id',
  'library_id',
  'content_hash',
  'rel_path',
  'bbox_x',
  'bbox_y',
  'bbox_w',
  'bbox_h',
  'confidence',
  'source',
  'person_id',
  'status',
  'model_version',
  'created_at',
  'embedding_zero',
  'cluster_id',
  'clustered',
] as const;
export type FaceSummaryRow = Pick<FaceRow, (typeof FACE_COLUMNS)[number]>;

/**
 * face_detections: one row per face, or one marker row (`no_faces`, `failed`) per photo, keyed by
 * content hash (SPEC 6); library_id/rel_path say where the content was seen.
 */
export class FacesRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly kind: DatabaseKind,
  ) {}

  /**
   * Photos (RAW included) of Online libraries whose content has no face row yet, one location per
   * hash (the lowest image id), oldest first; folders matching EXCLUDED_DIRS are left out.
   */
  async backlog(
    limit: number,
    excludedDirs: readonly string[],
    afterImageId = 0,
  ): Promise<FaceBacklogItem[]> {
    if (limit <= 0) return [];
    const excluded = excludedDirConditions(excludedDirs, this.kind);
    const rows = await this.db
      .selectFrom('image_exif as ie')
      .innerJoin('libraries as l', 'l.id', 'ie.library_id')
      .select((eb) => [eb.fn.min('ie.id').as('image_id'), 'ie.content_hash'])
      .where('ie.media_type', 'in', ['photo', 'raw'])
      .where('ie.content_hash', 'is not', null)
      .where('l.status', '=', 'online')
      .where('ie.id', '>', afterImageId)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('face_detections as fd')
              .select('fd.id')
              .whereRef('fd.content_hash', '=', 'ie.content_hash'),
          ),
        ),
      )
      .$if(excluded.length > 0, (qb) => qb.where(sql<SqlBool>`${sql.join(excluded, sql` and `)}`))
      .groupBy('ie.content_hash')
      .orderBy('image_id')
      .limit(limit)
      .execute();
    return this.locations(rows.map((r) => Number(r.image_id)));
  }

  /** The location of image rows, with their library. */
  async locations(imageIds: readonly number[]): Promise<FaceBacklogItem[]> {
    const out: FaceBacklogItem[] = [];
    for (const ids of chunk(imageIds, IN_LIST_CHUNK_SIZE)) {
      if (ids.length === 0) continue;
      const rows = await this.db
        .selectFrom('image_exif as ie')
        .innerJoin('libraries as l', 'l.id', 'ie.library_id')
        .select([
          'ie.id',
          'ie.library_id',
          'l.name',
          'l.root',
          'ie.rel_path',
          'ie.content_hash',
          'ie.media_type',
          'ie.orientation',
        ])
        .where('ie.id', 'in', ids)
        .orderBy('ie.id')
        .execute();
      for (const r of rows) {
        if (!r.content_hash) continue;
        out.push({
          imageId: r.id,
          libraryId: r.library_id,
          libraryName: r.name,
          root: r.root,
          relPath: r.rel_path,
          contentHash: r.content_hash,
          mediaType: r.media_type,
          orientation: r.orientation,
        });
      }
    }
    return out;
  }

  /** The location of one image by library and path, or undefined. */
  async locationOf(libraryId: number, relPath: string): Promise<FaceBacklogItem | undefined> {
    const row = await this.db
      .selectFrom('image_exif')
      .select('id')
      .where('library_id', '=', libraryId)
      .where('rel_path', '=', relPath)
      .executeTakeFirst();
    return row ? (await this.locations([row.id]))[0] : undefined;
  }

  /** Some location of a content (the lowest image id), for a rerun after the face's file moved. */
  async anyLocationOfContent(contentHash: string): Promise<FaceBacklogItem | undefined> {
    const row = await this.db
      .selectFrom('image_exif')
      .select('id')
      .where('content_hash', '=', contentHash)
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return row ? (await this.locations([row.id]))[0] : undefined;
  }

  /** Stored size and orientation of an image (its displayed size follows from them). */
  async imageSize(
    imageId: number,
  ): Promise<{ width: number | null; height: number | null; orientation: number | null } | undefined> {
    return this.db
      .selectFrom('image_exif')
      .select(['width', 'height', 'orientation'])
      .where('id', '=', imageId)
      .executeTakeFirst();
  }

  /** Whether any row (face or marker) exists for this content. */
  async hasRows(contentHash: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('face_detections')
      .select('id')
      .where('content_hash', '=', contentHash)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Store the result of one detection: the faces, or a marker (`no_faces`, `failed`) when there are
   * none. With `onlyIfNone` nothing is written when the content has rows already (another worker
   * was first): returns false then. Without it (a rerun), `auto` rows and markers of the content are
   * replaced and manual rows kept. Returns the ids of the new face rows.
   */
  async storeDetection(
    where: { libraryId: number; relPath: string; contentHash: string },
    result: { faces: NewFace[] } | { marker: 'no_faces' | 'failed'; modelVersion: string | null },
    options: { onlyIfNone: boolean },
  ): Promise<number[] | false> {
    return this.db.transaction().execute(async (trx) => {
      let assigned: AssignedFace[] = [];
      if (options.onlyIfNone) {
        const existing = await trx
          .selectFrom('face_detections')
          .select('id')
          .where('content_hash', '=', where.contentHash)
          .limit(1)
          .executeTakeFirst();
        if (existing) return false;
      } else {
        assigned = await this.assignedAutoFaces(trx, where.contentHash);
        const removed = await trx
          .deleteFrom('face_detections')
          .where('content_hash', '=', where.contentHash)
          .where((eb) => eb.or([eb('source', '=', 'auto'), eb('status', '<>', 'detected')]))
          .returning('id')
          .execute();
        await touchFaceCodeBlocks(
          trx,
          removed.map((r) => r.id),
        );
        await this.clearDanglingCovers(trx);
      }
      const now = new Date().toISOString();
      if ('marker' in result) {
        const hasManual =
          !options.onlyIfNone &&
          (await trx
            .selectFrom('face_detections')
            .select('id')
            .where('content_hash', '=', where.contentHash)
            .limit(1)
            .executeTakeFirst());
        if (hasManual) return [];
        await trx
          .insertInto('face_detections')
          .values({
            library_id: where.libraryId,
            content_hash: where.contentHash,
            rel_path: where.relPath,
            status: result.marker,
            source: 'auto',
            model_version: result.modelVersion,
            created_at: now,
          })
          .execute();
        return [];
      }
      const ids = await this.insertFaces(trx, where, result.faces, now);
      await this.carryAssignments(trx, assigned, result.faces, ids);
      return ids;
    });
  }

  /** The auto faces of a content that belong to someone (what a re-detection must not forget). */
  private async assignedAutoFaces(trx: Transaction<DB>, contentHash: string): Promise<AssignedFace[]> {
    const rows = await trx
      .selectFrom('face_detections as fd')
      .leftJoin('persons as p', 'p.cover_face_id', 'fd.id')
      .select([
        'fd.id',
        'fd.person_id',
        'fd.bbox_x',
        'fd.bbox_y',
        'fd.bbox_w',
        'fd.bbox_h',
        'p.id as cover_of',
      ])
      .where('fd.content_hash', '=', contentHash)
      .where('fd.source', '=', 'auto')
      .where('fd.status', '=', 'detected')
      .where('fd.person_id', 'is not', null)
      .execute();
    return rows.map((r) => ({
      personId: r.person_id as number,
      cover: r.cover_of === r.person_id,
      box: { x: r.bbox_x ?? 0, y: r.bbox_y ?? 0, w: r.bbox_w ?? 0, h: r.bbox_h ?? 0 },
    }));
  }

  /**
   * A re-detection keeps who is who: a new face where an assigned old one was (boxes overlapping,
   * matchRedetectedFaces) goes to the same person, and becomes their cover if the old one was.
   */
  private async carryAssignments(
    trx: Transaction<DB>,
    before: readonly AssignedFace[],
    after: readonly NewFace[],
    ids: readonly number[],
  ): Promise<void> {
    if (before.length === 0 || ids.length === 0) return;
    const pairs = matchRedetectedFaces(
      before.map((b) => b.box),
      after.map((a) => a.box),
    );
    for (const [o, n] of pairs) {
      const old = before[o] as AssignedFace;
      const id = ids[n] as number;
      await trx
        .updateTable('face_detections')
        .set({ person_id: old.personId })
        .where('id', '=', id)
        .execute();
      if (old.cover) {
        await trx
          .updateTable('persons')
          .set({ cover_face_id: id })
          .where('id', '=', old.personId)
          .where('cover_face_id', 'is', null)
          .execute();
      }
    }
  }

  /** Add faces to a content (a manual face), removing a marker row it may have. */
  async addFaces(
    where: { libraryId: number; relPath: string; contentHash: string },
    faces: NewFace[],
  ): Promise<number[]> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('face_detections')
        .where('content_hash', '=', where.contentHash)
        .where('status', '<>', 'detected')
        .execute();
      return this.insertFaces(trx, where, faces, new Date().toISOString());
    });
  }

  private async insertFaces(
    trx: Transaction<DB>,
    where: { libraryId: number; relPath: string; contentHash: string },
    faces: NewFace[],
    now: string,
  ): Promise<number[]> {
    const ids: number[] = [];
    for (const face of faces) {
      const row = await trx
        .insertInto('face_detections')
        .values({
          library_id: where.libraryId,
          content_hash: where.contentHash,
          rel_path: where.relPath,
          bbox_x: face.box.x,
          bbox_y: face.box.y,
          bbox_w: face.box.w,
          bbox_h: face.box.h,
          embedding: embeddingToBytes(face.embedding),
          confidence: face.confidence,
          source: face.source,
          status: 'detected',
          model_version: face.modelVersion,
          embedding_zero: face.zero ? 1 : 0,
          created_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(row.id);
    }
    await touchFaceCodeBlocks(trx, ids);
    return ids;
  }

  /** Every row of a content (faces first by position, then markers). */
  async ofContent(contentHash: string): Promise<FaceSummaryRow[]> {
    return this.db
      .selectFrom('face_detections')
      .select([...FACE_COLUMNS])
      .where('content_hash', '=', contentHash)
      .orderBy('status')
      .orderBy('bbox_x')
      .orderBy('id')
      .execute();
  }

  async byId(id: number): Promise<FaceSummaryRow | undefined> {
    return this.db
      .selectFrom('face_detections')
      .select([...FACE_COLUMNS])
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async embeddingOf(id: number): Promise<Float32Array | undefined> {
    const row = await this.db
      .selectFrom('face_detections')
      .select(['embedding', 'embedding_zero'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row?.embedding || row.embedding_zero) return undefined;
    return embeddingFromBytes(row.embedding);
  }

  /** Detected faces of a content with their embeddings (zero ones as undefined). */
  async vectorsOfContent(
    contentHash: string,
  ): Promise<(FaceSummaryRow & { vector: Float32Array | undefined })[]> {
    const rows = await this.db
      .selectFrom('face_detections')
      .select([...FACE_COLUMNS, 'embedding'])
      .where('content_hash', '=', contentHash)
      .where('status', '=', 'detected')
      .orderBy('id')
      .execute();
    return rows.map(({ embedding, ...row }) => ({
      ...row,
      vector: embedding && !row.embedding_zero ? embeddingFromBytes(embedding) : undefined,
    }));
  }

  /** Embeddings of a person's faces of one model (zero ones left out). */
  async personVectors(personId: number, modelVersion: string): Promise<Float32Array[]> {
    const rows = await this.db
      .selectFrom('face_detections')
      .select('embedding')
      .where('person_id', '=', personId)
      .where('model_version', '=', modelVersion)
      .where('status', '=', 'detected')
      .where('embedding_zero', '=', 0)
      .execute();
    return rows.flatMap((r) => (r.embedding ? [embeddingFromBytes(r.embedding)] : []));
  }

  /** Delete one face; its person's cover is cleared when it was the cover. */
  async delete(id: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom('face_detections').where('id', '=', id).executeTakeFirst();
      await touchFaceCodeBlocks(trx, [id]);
      await this.clearDanglingCovers(trx);
      return Number(result.numDeletedRows) > 0;
    });
  }

  /** Set (or clear) the person of faces. A face leaving a cluster for a person keeps its cluster id. */
  async setPerson(ids: readonly number[], personId: number | null): Promise<number> {
    let changed = 0;
    for (const part of chunk(ids, IN_LIST_CHUNK_SIZE)) {
      if (part.length === 0) continue;
      const result = await this.db
        .updateTable('face_detections')
        .set({ person_id: personId })
        .where('id', 'in', part)
        .where('status', '=', 'detected')
        .executeTakeFirst();
      changed += Number(result.numUpdatedRows);
    }
    // A face that left a person (unassigned, or moved to another) is no longer that person's cover.
    await this.clearDanglingCovers(this.db);
    return changed;
  }

  /** persons.cover_face_id pointing at a face that is gone or no longer the person's: cleared. */
  private async clearDanglingCovers(db: Kysely<DB> | Transaction<DB>): Promise<void> {
    await db
      .updateTable('persons')
      .set({ cover_face_id: null })
      .where('cover_face_id', 'is not', null)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('face_detections as fd')
              .select('fd.id')
              .whereRef('fd.id', '=', 'persons.cover_face_id')
              .whereRef('fd.person_id', '=', 'persons.id'),
          ),
        ),
      )
      .execute();
  }

  // ---- suggestions (incremental clustering) ----

  /** Models that have unassigned, unclustered faces. */
  async modelsWithPendingClustering(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('face_detections')
      .select('model_version')
      .distinct()
      .where('status', '=', 'detected')
      .where('clustered', '=', 0)
      .where('embedding_zero', '=', 0)
      .where('person_id', 'is', null)
      .where('model_version', 'is not', null)
      .execute();
    return rows.flatMap((r) => (r.model_version ? [r.model_version] : []));
  }

  /**
   * Unassigned faces of one model with embeddings: `clustered` ones (the neighbourhood) or pending
   * ones (to cluster), in id order, a page after `afterId`.
   */
  async unassignedVectors(
    modelVersion: string,
    clustered: boolean,
    limit: number,
    afterId = 0,
  ): Promise<FaceVector[]> {
    const rows = await this.db
      .selectFrom('face_detections')
      .select(['id', 'person_id', 'cluster_id', 'embedding'])
      .where('model_version', '=', modelVersion)
      .where('status', '=', 'detected')
      .where('clustered', '=', clustered ? 1 : 0)
      .where('embedding_zero', '=', 0)
      .where('person_id', 'is', null)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.flatMap((r) =>
      r.embedding
        ? [
            {
              id: r.id,
              personId: r.person_id,
              clusterId: r.cluster_id,
              embedding: embeddingFromBytes(r.embedding),
            },
          ]
        : [],
    );
  }

  /** Record one clustering decision: `members` get `clusterId`, `merged` clusters are relabelled. */
  async applyCluster(
    faceId: number,
    decision: { clusterId: number; members: number[]; merged: number[] } | undefined,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('face_detections').set({ clustered: 1 }).where('id', '=', faceId).execute();
      if (!decision) return;
      for (const part of chunk(decision.members, IN_LIST_CHUNK_SIZE)) {
        await trx
          .updateTable('face_detections')
          .set({ cluster_id: decision.clusterId })
          .where('id', 'in', part)
          .execute();
      }
      if (decision.merged.length > 0) {
        await trx
          .updateTable('face_detections')
          .set({ cluster_id: decision.clusterId })
          .where('cluster_id', 'in', decision.merged)
          .execute();
      }
    });
  }

  /** Clusters of unassigned faces with at least `minSize` of them, biggest first. */
  async clusters(
    minSize: number,
    limit: number,
  ): Promise<{ clusterId: number; modelVersion: string; size: number; faceIds: number[] }[]> {
    const groups = await this.db
      .selectFrom('face_detections')
      .select((eb) => ['cluster_id', 'model_version', eb.fn.countAll<number>().as('size')])
      .where('cluster_id', 'is not', null)
      .where('person_id', 'is', null)
      .where('status', '=', 'detected')
      .groupBy(['cluster_id', 'model_version'])
      .having((eb) => eb.fn.countAll(), '>=', minSize)
      .orderBy('size', 'desc')
      .orderBy('cluster_id')
      .limit(limit)
      .execute();
    const out = [];
    for (const g of groups) {
      const faces = await this.db
        .selectFrom('face_detections')
        .select('id')
        .where('cluster_id', '=', g.cluster_id)
        .where('person_id', 'is', null)
        .where('status', '=', 'detected')
        .orderBy('confidence', 'desc')
        .orderBy('id')
        .execute();
      out.push({
        clusterId: Number(g.cluster_id),
        modelVersion: g.model_version ?? '',
        size: Number(g.size),
        faceIds: faces.map((f) => f.id),
      });
    }
    return out;
  }

  /** Unassigned faces of one cluster. */
  async clusterFaceIds(clusterId: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('face_detections')
      .select('id')
      .where('cluster_id', '=', clusterId)
      .where('person_id', 'is', null)
      .where('status', '=', 'detected')
      .orderBy('confidence', 'desc')
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  }

  // ---- similarity (exact scan; see FaceVectorIndex) ----

  /** A page of searchable faces of one model with their embedding bytes, in id order. */
  async searchablePage(
    modelVersion: string,
    afterId: number,
    limit: number,
  ): Promise<{ id: number; embedding: Buffer }[]> {
    const rows = await this.db
      .selectFrom('face_detections')
      .select(['id', 'embedding'])
      .where('model_version', '=', modelVersion)
      .where('status', '=', 'detected')
      .where('embedding_zero', '=', 0)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.flatMap((r) => (r.embedding ? [{ id: r.id, embedding: Buffer.from(r.embedding) }] : []));
  }

  /** Count rows by status (metrics, status pages, tests). */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('face_detections')
      .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }
}
