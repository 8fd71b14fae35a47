import { sql } from 'kysely';
import type { Database } from '../open-database.ts';
import { FaceCodeIndex } from './face-code-index.ts';
import { FacesRepository } from './faces.repository.ts';

const PAGE = 5_000;

export interface SimilarFace {
  id: number;
  /** Cosine similarity, 1 = same direction. */
  similarity: number;
}

/**
 * k-nearest faces by cosine, over searchable faces of one model (detected, embedding not zero).
 * One interface, three engines (docs/decisions.md, "Face similarity search"):
 * - `binary-codes` (FaceCodeIndex, what the api uses on both databases): binary codes scanned in
 *   blocks, the nearest few hundred ranked exactly;
 * - `sqlite-vec`: `vec_distance_cosine` over the embedding blob column in SQL (exact brute force
 *   inside SQLite; the benchmark's reference);
 * - `exact-scan`: embeddings paged into JS and compared there (exact; the tests' reference).
 */
export interface FaceVectorIndex {
  readonly engine: 'binary-codes' | 'sqlite-vec' | 'exact-scan';
  nearest(query: Float32Array, modelVersion: string, k: number, excludeId?: number): Promise<SimilarFace[]>;
}

export function faceVectorIndex(database: Database): FaceVectorIndex {
  return new FaceCodeIndex(database.db);
}

function unit(query: Float32Array): Float32Array | undefined {
  let norm = 0;
  for (const v of query) norm += v * v;
  norm = Math.sqrt(norm);
  return norm === 0 ? undefined : query.map((v) => v / norm);
}

export class SqliteVecFaceIndex implements FaceVectorIndex {
  readonly engine = 'sqlite-vec' as const;
  constructor(private readonly database: Database) {}

  async nearest(query: Float32Array, modelVersion: string, k: number, excludeId = 0): Promise<SimilarFace[]> {
    const q = unit(query);
    if (!q || k <= 0) return [];
    const bytes = Buffer.from(q.buffer, q.byteOffset, q.byteLength);
    const rows = await sql<{ id: number; distance: number }>`
      select id, vec_distance_cosine(embedding, ${bytes}) as distance
      from face_detections
      where model_version = ${modelVersion} and status = 'detected' and embedding_zero = 0
        and id <> ${excludeId} and length(embedding) = ${bytes.length}
      order by distance, id
      limit ${k}`.execute(this.database.db);
    return rows.rows.map((r) => ({ id: r.id, similarity: 1 - r.distance }));
  }
}

export class ExactScanFaceIndex implements FaceVectorIndex {
  readonly engine = 'exact-scan' as const;
  private readonly faces: FacesRepository;
  constructor(database: Database) {
    this.faces = new FacesRepository(database.db, database.kind);
  }

  async nearest(
    query: Float32Array,
    modelVersion: string,
    k: number,
    excludeId?: number,
  ): Promise<SimilarFace[]> {
    const q = unit(query);
    if (!q || k <= 0) return [];
    const best: SimilarFace[] = [];
    let worst = Number.NEGATIVE_INFINITY;
    for (let after = 0; ; ) {
      const page = await this.faces.searchablePage(modelVersion, after, PAGE);
      for (const row of page) {
        after = row.id;
        if (row.id === excludeId || row.embedding.length !== q.length * 4) continue;
        const similarity = cosineToUnit(q, row.embedding);
        if (best.length < k || similarity > worst) {
          best.push({ id: row.id, similarity });
          best.sort((a, b) => b.similarity - a.similarity || a.id - b.id);
          if (best.length > k) best.pop();
          worst = best.at(-1)?.similarity ?? worst;
        }
      }
      if (page.length < PAGE) break;
    }
    return best;
  }
}

/** Cosine of the unit vector `q` with little-endian float32 bytes (read in place when aligned). */
export function cosineToUnit(q: Float32Array, bytes: Uint8Array): number {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes);
  const view = new Float32Array(aligned.buffer, aligned.byteOffset, q.length);
  let dot = 0;
  let norm = 0;
  for (let i = 0; i < q.length; i++) {
    const x = view[i] as number;
    dot += (q[i] as number) * x;
    norm += x * x;
  }
  return norm === 0 ? 0 : dot / Math.sqrt(norm);
}

/** Whether the pgvector extension is installed in this PostgreSQL database (reported, not used yet). */
export async function pgvectorPresent(database: Database): Promise<boolean> {
  if (database.kind !== 'postgres') return false;
  const rows = await sql<{
    n: number;
  }>`select count(*) as n from pg_extension where extname = 'vector'`.execute(database.db);
  return Number(rows.rows[0]?.n ?? 0) > 0;
}
