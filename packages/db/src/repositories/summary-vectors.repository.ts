import { type Kysely, sql } from 'kysely';
import type { DatabaseKind } from '../migrations/dialect-columns.ts';
import type { DB } from '../schema.generated.ts';

export interface NewSummary {
  day: string;
  contact: string;
  summary: string;
  messageCount: number;
  model: string;
  embeddingModel: string;
  embedding: readonly number[];
}

export interface SummaryHit {
  id: number;
  day: string;
  contact: string;
  summary: string;
  /** Cosine distance (0 = same direction, 2 = opposite). */
  distance: number;
}

const SCAN_PAGE = 1000;

/** float32 little-endian bytes, the layout sqlite-vec reads. */
export function vectorToBytes(vector: readonly number[]): Buffer {
  const buf = Buffer.alloc(vector.length * 4);
  for (const [i, x] of vector.entries()) buf.writeFloatLE(x, i * 4);
  return buf;
}

export function bytesToVector(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

export function cosineDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 1 : 1 - dot / Math.sqrt(na * nb);
}

/**
 * Daily conversation summaries and their vectors (one repository for both engines). Search is
 * exact: on SQLite with sqlite-vec's `vec_distance_cosine` in SQL when the extension is loaded,
 * otherwise (Postgres without pgvector, or SQLite without the extension) a scan in pages of 1000
 * in JS. Fine for years of daily summaries (tens of thousands of rows); an ANN index is for later.
 */
export class SummaryVectorsRepository {
  #sqliteVec: boolean | undefined;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly kind: DatabaseKind,
  ) {}

  /** Which search runs: `sqlite-vec` or `scan`. */
  async searchMode(): Promise<'sqlite-vec' | 'scan'> {
    if (this.#sqliteVec === undefined) {
      if (this.kind !== 'sqlite') this.#sqliteVec = false;
      else {
        try {
          await sql`select vec_version()`.execute(this.db);
          this.#sqliteVec = true;
        } catch {
          this.#sqliteVec = false;
        }
      }
    }
    return this.#sqliteVec ? 'sqlite-vec' : 'scan';
  }

  /** The contacts of a day that have a summary with its vector (what a resumed run skips). */
  async doneContacts(day: string): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('conversation_summaries as s')
      .innerJoin('summary_embeddings as e', 'e.summary_id', 's.id')
      .select('s.contact')
      .where('s.day', '=', day)
      .execute();
    return new Set(rows.map((r) => r.contact));
  }

  /** Store a summary and its vector together (one transaction: a killed run leaves both or neither). */
  async insert(summary: NewSummary): Promise<number> {
    const now = new Date().toISOString();
    return this.db.transaction().execute(async (trx) => {
      // A summary without a vector (written by an older version) is replaced.
      await trx
        .deleteFrom('conversation_summaries')
        .where('day', '=', summary.day)
        .where('contact', '=', summary.contact)
        .execute();
      const row = await trx
        .insertInto('conversation_summaries')
        .values({
          day: summary.day,
          contact: summary.contact,
          summary: summary.summary,
          message_count: summary.messageCount,
          model: summary.model,
          created_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('summary_embeddings')
        .values({
          summary_id: Number(row.id),
          model: summary.embeddingModel,
          dims: summary.embedding.length,
          embedding: vectorToBytes(summary.embedding),
          created_at: now,
        })
        .execute();
      return Number(row.id);
    });
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('conversation_summaries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The `limit` summaries nearest to `vector` (same model and dimension only). */
  async search(vector: readonly number[], model: string, limit: number): Promise<SummaryHit[]> {
    if ((await this.searchMode()) === 'sqlite-vec') {
      const rows = await sql<{ id: number; day: string; contact: string; summary: string; distance: number }>`
        select s.id, s.day, s.contact, s.summary, vec_distance_cosine(e.embedding, ${vectorToBytes(vector)}) as distance
        from summary_embeddings e join conversation_summaries s on s.id = e.summary_id
        where e.model = ${model} and e.dims = ${vector.length}
        order by distance limit ${limit}`.execute(this.db);
      return rows.rows.map((r) => ({ ...r, id: Number(r.id), distance: Number(r.distance) }));
    }
    const best: SummaryHit[] = [];
    let after = 0;
    for (;;) {
      const page = await this.db
        .selectFrom('summary_embeddings as e')
        .innerJoin('conversation_summaries as s', 's.id', 'e.summary_id')
        .select(['s.id', 's.day', 's.contact', 's.summary', 'e.embedding'])
        .where('e.model', '=', model)
        .where('e.dims', '=', vector.length)
        .where('e.summary_id', '>', after)
        .orderBy('e.summary_id')
        .limit(SCAN_PAGE)
        .execute();
      for (const row of page) {
        best.push({
          id: Number(row.id),
          day: row.day,
          contact: row.contact,
          summary: row.summary,
          distance: cosineDistance(vector, bytesToVector(row.embedding)),
        });
      }
      best.sort((a, b) => a.distance - b.distance);
      best.length = Math.min(best.length, limit);
      if (page.length < SCAN_PAGE) break;
      after = Number(page.at(-1)!.id);
    }
    return best;
  }
}
