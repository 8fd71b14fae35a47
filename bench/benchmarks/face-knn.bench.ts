/**
 * k-nearest faces (k = 10, cosine) over N stored 512-d embeddings (default 100,000): the face search
 * of `GET /faces/{id}/similar` on SQLite through sqlite-vec (`vec_distance_cosine` over the
 * embedding blob column, SqliteVecFaceIndex), against a brute-force scan of the same embeddings held
 * in one Float32Array in memory, in the same run, with the same queries.
 *
 *   LUMEN_BENCH_KNN_FACES=20000 pnpm bench face-knn    # a quick try
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, SqliteVecFaceIndex } from '@lumen/db';
import { type Benchmark, type BenchRow, positiveInt, row } from '../benchmark.ts';

const FACES = positiveInt('LUMEN_BENCH_KNN_FACES', 100_000);
const QUERIES = positiveInt('LUMEN_BENCH_KNN_QUERIES', 60);
const DIM = 512;
const K = 10;
const INSERT_BATCH = 500;

/** xorshift32: fast deterministic vectors (the content does not matter, only the work). */
function randomUnitVectors(count: number, dim: number, seed: number): Float32Array {
  const out = new Float32Array(count * dim);
  let s = seed >>> 0 || 1;
  for (let v = 0; v < count; v++) {
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const x = (s >>> 0) / 4294967296 - 0.5;
      out[v * dim + i] = x;
      norm += x * x;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) out[v * dim + i]! /= norm;
  }
  return out;
}

function bruteForce(all: Float32Array, count: number, query: Float32Array, k: number): number[] {
  const best: { i: number; s: number }[] = [];
  let worst = Number.NEGATIVE_INFINITY;
  for (let v = 0; v < count; v++) {
    let dot = 0;
    const base = v * DIM;
    for (let i = 0; i < DIM; i++) dot += all[base + i]! * query[i]!;
    if (best.length < k || dot > worst) {
      best.push({ i: v, s: dot });
      best.sort((a, b) => b.s - a.s);
      if (best.length > k) best.pop();
      worst = best[best.length - 1]!.s;
    }
  }
  return best.map((b) => b.i);
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

const benchmark: Benchmark = {
  title: 'Face KNN: sqlite-vec vs brute-force Float32Array',
  description: `k=${K} nearest by cosine among ${FACES.toLocaleString('en')} stored ${DIM}-d embeddings of one model, ${QUERIES} queries: sqlite-vec (vec_distance_cosine over the blob column, the engine of GET /faces/{id}/similar on SQLite) against a brute-force dot-product scan of the same embeddings in one in-memory Float32Array. Both return the same ids.`,
  async run(ctx): Promise<BenchRow[]> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lumen-bench-knn-'));
    const database = await openDatabase({ kind: 'sqlite', file: path.join(dir, 'knn.db') });
    try {
      if (database.vectorSearch !== 'sqlite-vec') throw new Error('sqlite-vec did not load');
      ctx.log(`making ${FACES} embeddings`);
      const all = randomUnitVectors(FACES, DIM, 42);
      const now = new Date().toISOString();
      const started = performance.now();
      const ids: number[] = [];
      for (let from = 0; from < FACES; from += INSERT_BATCH) {
        const rows = [];
        for (let v = from; v < Math.min(FACES, from + INSERT_BATCH); v++) {
          rows.push({
            library_id: 1,
            content_hash: `xxh3-128:${v.toString(16).padStart(32, '0')}`,
            rel_path: `p${v}.jpg`,
            bbox_x: 0.1,
            bbox_y: 0.1,
            bbox_w: 0.2,
            bbox_h: 0.2,
            embedding: Buffer.from(all.buffer, v * DIM * 4, DIM * 4),
            confidence: 0.9,
            source: 'auto',
            status: 'detected',
            model_version: 'bench',
            created_at: now,
          });
        }
        const inserted = await database.db
          .insertInto('face_detections')
          .values(rows)
          .returning('id')
          .execute();
        ids.push(...inserted.map((r) => r.id));
      }
      ctx.log(`stored in ${Math.round(performance.now() - started)} ms`);

      const index = new SqliteVecFaceIndex(database);
      const queries = randomUnitVectors(QUERIES, DIM, 7);
      const vecMs: number[] = [];
      const bruteMs: number[] = [];
      let agree = 0;
      for (let q = 0; q < QUERIES; q++) {
        const query = queries.subarray(q * DIM, (q + 1) * DIM);
        let t = performance.now();
        const found = await index.nearest(query, 'bench', K);
        vecMs.push(performance.now() - t);
        t = performance.now();
        const brute = bruteForce(all, FACES, query, K);
        bruteMs.push(performance.now() - t);
        if (found.map((f) => f.id).join() === brute.map((i) => ids[i]).join()) agree++;
      }
      if (agree !== QUERIES)
        throw new Error(`sqlite-vec and the brute force disagree on ${QUERIES - agree} queries`);
      const rows: BenchRow[] = [];
      for (const p of [50, 99]) {
        rows.push(
          row({
            name: `sqlite-vec k=${K} of ${FACES / 1000}k`,
            metric: `p${p}`,
            value: percentile(vecMs, p),
            unit: 'ms',
            baseline: 'brute-force Float32Array',
            baselineValue: percentile(bruteMs, p),
            note: 'lower is better; target p99 <= 20 ms at 100k',
          }),
        );
      }
      return rows;
    } finally {
      await database.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default benchmark;
