import {
  binaryCode,
  type CodeBlock,
  candidatesFor,
  codeWords,
  embeddingFromBytes,
  embeddingToBytes,
  isZeroEmbedding,
  LITTLE_ENDIAN,
  meanOfUnitVectors,
  nearestCodes,
  normalizeEmbedding,
} from '@lumen/core';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { DB } from '../schema.generated.ts';
import { chunk, IN_LIST_CHUNK_SIZE } from './chunks.ts';
import { cosineToUnit, type FaceVectorIndex, type SimilarFace } from './face-vector-index.ts';

/** Face ids per code block: block `b` holds the faces with ids `b * 1024 .. b * 1024 + 1023`. */
export const FACE_CODE_BLOCK_SIZE = 1024;
/** Faces the model's center is taken from (the first ones by id). */
const CENTER_SAMPLE = 2_000;

type Db = Kysely<DB> | Transaction<DB>;

/**
 * Mark the code blocks of `faceIds` as changed. Every write that adds or removes searchable faces
 * calls this in its own transaction, so a block built before the write is seen as stale after it
 * commits (see FaceCodeIndex).
 */
export async function touchFaceCodeBlocks(db: Db, faceIds: readonly number[]): Promise<void> {
  const blocks = [...new Set(faceIds.map((id) => Math.floor(id / FACE_CODE_BLOCK_SIZE)))].sort(
    (a, b) => a - b,
  );
  for (const block of blocks) {
    await db
      .insertInto('face_code_versions')
      .values({ block_no: block, version: 1 })
      .onConflict((oc) =>
        oc.column('block_no').doUpdateSet({ version: sql<number>`face_code_versions.version + 1` }),
      )
      .execute();
  }
}

interface Center {
  version: number;
  faces: number;
  center: Float32Array;
}

/** What one search did (the benchmark and the tests read it). */
export interface FaceCodeSearchStats {
  blocks: number;
  built: number;
  codes: number;
  candidates: number;
}

/**
 * k-nearest faces by cosine through binary codes: the codes of every searchable face of the model
 * are read in blocks of 1,024 (one row each), the `candidatesFor(k)` nearest by Hamming distance
 * are fetched and ranked exactly by cosine on their stored embeddings. Works the same on SQLite
 * and PostgreSQL.
 *
 * Blocks are derived data, built on demand: a block is rebuilt when its row is missing, when its
 * counter in `face_code_versions` moved on (a face of it was written since), or when it was built
 * around an older center. Race-free without locks: a build reads the counter before the faces,
 * and a writer raises the counter in the transaction that writes the faces, so a build that could
 * have missed a write is stored with a counter that is already old.
 */
export class FaceCodeIndex implements FaceVectorIndex {
  readonly engine = 'binary-codes' as const;
  /** The last search's figures. */
  lastStats: FaceCodeSearchStats = { blocks: 0, built: 0, codes: 0, candidates: 0 };

  /**
   * `beforeStore` runs inside a build after it read the block's counter and faces, before it
   * stores the block: tests put a concurrent write there.
   */
  private readonly cache: CodeBlockCache;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly hooks: { beforeStore?: (block: number) => Promise<void> } = {},
    /** Decoded blocks kept in memory (64 MiB: the codes of a million 512-d faces). */
    cacheBytes = 64 * 1024 * 1024,
  ) {
    this.cache = new CodeBlockCache(cacheBytes);
  }

  async nearest(query: Float32Array, modelVersion: string, k: number, excludeId = 0): Promise<SimilarFace[]> {
    if (k <= 0 || isZeroEmbedding(query)) return [];
    const unitQuery = normalizeEmbedding(query);
    const center = await this.centerOf(modelVersion, unitQuery.length);
    if (!center) return [];
    const blocks = await this.blocks(modelVersion, center);
    const code = binaryCode(unitQuery, center.center);
    const candidates = nearestCodes(blocks, code, candidatesFor(k), excludeId);
    this.lastStats.candidates = candidates.length;
    const ranked: SimilarFace[] = [];
    for (const part of chunk(candidates, IN_LIST_CHUNK_SIZE)) {
      if (part.length === 0) continue;
      // By id alone (the primary key); the other conditions are checked here, so that no planner
      // walks a model_version index instead.
      const rows = await this.db
        .selectFrom('face_detections')
        .select(['id', 'embedding', 'model_version', 'status', 'embedding_zero'])
        .where('id', 'in', part)
        .execute();
      for (const row of rows) {
        if (row.model_version !== modelVersion || row.status !== 'detected' || row.embedding_zero !== 0)
          continue;
        if (!row.embedding || row.embedding.length !== unitQuery.length * 4) continue;
        ranked.push({ id: row.id, similarity: cosineToUnit(unitQuery, row.embedding) });
      }
    }
    ranked.sort((a, b) => b.similarity - a.similarity || a.id - b.id);
    return ranked.slice(0, k);
  }

  /** Build every block of the model that is missing or stale. */
  async refresh(modelVersion: string, dim: number): Promise<FaceCodeSearchStats> {
    const center = await this.centerOf(modelVersion, dim);
    if (center) await this.blocks(modelVersion, center);
    return { ...this.lastStats };
  }

  /**
   * Build the missing or stale blocks of every model with searchable faces, so the next search
   * does not (the watcher calls it after a face pass stored faces). Returns blocks built.
   */
  async refreshAll(): Promise<number> {
    const models = await this.db
      .selectFrom('face_detections')
      .select('model_version')
      .distinct()
      .where('status', '=', 'detected')
      .where('model_version', 'is not', null)
      .execute();
    let built = 0;
    for (const { model_version: model } of models) {
      if (!model) continue;
      const sample = await this.searchable(model).select('embedding').limit(1).executeTakeFirst();
      if (!sample?.embedding) continue;
      built += (await this.refresh(model, sample.embedding.length / 4)).built;
    }
    return built;
  }

  private searchable(modelVersion: string) {
    return this.db
      .selectFrom('face_detections')
      .where('model_version', '=', modelVersion)
      .where('status', '=', 'detected')
      .where('embedding_zero', '=', 0)
      .where('embedding', 'is not', null);
  }

  /** The model's center; made from its first faces when there is none. Undefined: no faces. */
  private async centerOf(modelVersion: string, dim: number): Promise<Center | undefined> {
    const row = await this.db
      .selectFrom('face_code_centers')
      .select(['version', 'faces', 'center'])
      .where('model_version', '=', modelVersion)
      .executeTakeFirst();
    if (row) {
      const center = embeddingFromBytes(row.center);
      if (center.length === dim) return { version: row.version, faces: row.faces, center };
    }
    return this.makeCenter(modelVersion, dim, row?.version ?? 0);
  }

  private async makeCenter(
    modelVersion: string,
    dim: number,
    previousVersion: number,
  ): Promise<Center | undefined> {
    const rows = await this.searchable(modelVersion)
      .select('embedding')
      .orderBy('id')
      .limit(CENTER_SAMPLE)
      .execute();
    const vectors = rows.flatMap((r) =>
      r.embedding && r.embedding.length === dim * 4 ? [embeddingFromBytes(r.embedding)] : [],
    );
    const center = meanOfUnitVectors(vectors);
    if (!center) return undefined;
    // A random version, not a count: two searches making a center at once each take their own, so
    // blocks built around the one that lost are seen as stale and rebuilt.
    let version = previousVersion;
    while (version === previousVersion) version = 1 + Math.floor(Math.random() * 2_000_000_000);
    await this.db
      .insertInto('face_code_centers')
      .values({
        model_version: modelVersion,
        version,
        faces: vectors.length,
        center: embeddingToBytes(center),
      })
      .onConflict((oc) =>
        oc.column('model_version').doUpdateSet({
          version,
          faces: vectors.length,
          center: embeddingToBytes(center),
        }),
      )
      .execute();
    return { version, faces: vectors.length, center };
  }

  /** Every block of the model, built where missing or stale. */
  private async blocks(modelVersion: string, first: Center): Promise<CodeBlock[]> {
    let center = first;
    for (let pass = 0; ; pass++) {
      const maxId = await this.db
        .selectFrom('face_detections')
        .select((eb) => eb.fn.max('id').as('max'))
        .executeTakeFirst();
      const lastBlock = Math.floor(Number(maxId?.max ?? 0) / FACE_CODE_BLOCK_SIZE);
      // Two plain queries, not a join: a join over the blob rows costs twice as much here.
      const counters = await this.db
        .selectFrom('face_code_versions')
        .select(['block_no', 'version'])
        .where('block_no', '<=', lastBlock)
        .execute();
      const current = new Map(counters.map((row) => [row.block_no, row.version]));
      // What is stored, without the codes: those come from this process's cache when it holds the
      // same build (same counter and center), so a search reads only blocks that changed.
      const stored = await this.db
        .selectFrom('face_code_blocks')
        .select(['block_no', 'version', 'center_version'])
        .where('model_version', '=', modelVersion)
        .where('block_no', '<=', lastBlock)
        .execute();
      const byNumber = new Map(stored.map((row) => [row.block_no, row]));
      const fresh = (no: number) => {
        const row = byNumber.get(no);
        return (
          row !== undefined && row.version === (current.get(no) ?? 0) && row.center_version === center.version
        );
      };
      const toRead: number[] = [];
      for (let no = 0; no <= lastBlock; no++) {
        if (fresh(no) && !this.cache.get(modelVersion, no, byNumber.get(no) as BuildKey)) toRead.push(no);
      }
      for (const part of chunk(toRead, IN_LIST_CHUNK_SIZE)) {
        const rows = await this.db
          .selectFrom('face_code_blocks')
          .select(['block_no', 'version', 'center_version', 'face_ids', 'codes'])
          .where('model_version', '=', modelVersion)
          .where('block_no', 'in', part)
          .execute();
        for (const row of rows) this.cache.put(modelVersion, row.block_no, row, fromRow(row));
      }
      const blocks: CodeBlock[] = [];
      let built = 0;
      let faces = 0;
      for (let no = 0; no <= lastBlock; no++) {
        const key = byNumber.get(no);
        let block = fresh(no) && key ? this.cache.get(modelVersion, no, key) : undefined;
        if (!block) {
          block = await this.build(modelVersion, no, center);
          built++;
        }
        faces += block.ids.length;
        if (block.ids.length > 0) blocks.push(block);
      }
      this.lastStats = { blocks: lastBlock + 1, built, codes: faces, candidates: 0 };
      // A center made from few faces is remade once there are many more (it steers every code).
      if (pass === 0 && center.faces < CENTER_SAMPLE && faces >= 2 * center.faces + 16) {
        const remade = await this.makeCenter(modelVersion, center.center.length, center.version);
        if (remade) {
          center = remade;
          continue;
        }
      }
      return blocks;
    }
  }

  private async build(modelVersion: string, no: number, center: Center): Promise<CodeBlock> {
    // The counter first, then the faces: a write committed in between leaves this block stale.
    const counter = await this.db
      .selectFrom('face_code_versions')
      .select('version')
      .where('block_no', '=', no)
      .executeTakeFirst();
    const rows = await this.searchable(modelVersion)
      .select(['id', 'embedding'])
      .where('id', '>=', no * FACE_CODE_BLOCK_SIZE)
      .where('id', '<', (no + 1) * FACE_CODE_BLOCK_SIZE)
      .orderBy('id')
      .execute();
    const dim = center.center.length;
    const usable = rows.filter((r) => r.embedding && r.embedding.length === dim * 4);
    const words = codeWords(dim);
    const ids = Uint32Array.from(usable.map((r) => r.id));
    const codes = new Uint32Array(usable.length * words);
    usable.forEach((r, j) => {
      binaryCode(embeddingFromBytes(r.embedding as Uint8Array), center.center, codes, j * words);
    });
    const values = {
      version: counter?.version ?? 0,
      center_version: center.version,
      faces: ids.length,
      face_ids: bytesOf(ids),
      codes: bytesOf(codes),
    };
    await this.hooks.beforeStore?.(no);
    await this.db
      .insertInto('face_code_blocks')
      .values({ model_version: modelVersion, block_no: no, ...values })
      .onConflict((oc) => oc.columns(['model_version', 'block_no']).doUpdateSet(values))
      .execute();
    const block = { ids, codes };
    this.cache.put(modelVersion, no, values, block);
    return block;
  }
}

function bytesOf(words: Uint32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(words.buffer, words.byteOffset, words.byteLength);
  const out = Buffer.alloc(words.length * 4);
  for (let i = 0; i < words.length; i++) out.writeUInt32LE(words[i] as number, i * 4);
  return out;
}

function wordsOf(bytes: Uint8Array): Uint32Array {
  if (LITTLE_ENDIAN) {
    // A view when aligned (better-sqlite3 and pg hand out whole buffers), a copy otherwise.
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : Uint8Array.from(bytes);
    return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  }
  const out = new Uint32Array(bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

/** Which build of a block: its counter and its center. */
interface BuildKey {
  version: number;
  center_version: number;
}

/**
 * Decoded code blocks of this process, least recently used dropped beyond a byte budget. An entry
 * serves only the build it was made from (same counter, same center): the database says which
 * build is current on every search.
 */
export class CodeBlockCache {
  private readonly entries = new Map<string, { key: BuildKey; block: CodeBlock; bytes: number }>();
  private bytes = 0;
  constructor(private readonly maxBytes: number) {}

  get(model: string, no: number, key: BuildKey): CodeBlock | undefined {
    const name = `${no}\u0000${model}`;
    const entry = this.entries.get(name);
    if (!entry || entry.key.version !== key.version || entry.key.center_version !== key.center_version) {
      return undefined;
    }
    this.entries.delete(name);
    this.entries.set(name, entry);
    return entry.block;
  }

  put(model: string, no: number, key: BuildKey, block: CodeBlock): void {
    const name = `${no}\u0000${model}`;
    const old = this.entries.get(name);
    if (old) this.bytes -= old.bytes;
    this.entries.delete(name);
    const bytes = block.ids.byteLength + block.codes.byteLength;
    this.entries.set(name, {
      key: { version: key.version, center_version: key.center_version },
      block,
      bytes,
    });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  get size(): number {
    return this.bytes;
  }
}

function fromRow(row: { face_ids: Uint8Array; codes: Uint8Array }): CodeBlock {
  return { ids: wordsOf(row.face_ids), codes: wordsOf(row.codes) };
}
