/**
 * k-nearest faces (k = 10, cosine) over N stored 512-d embeddings (default 100,000): the face search
 * of `GET /faces/{id}/similar` (FaceCodeIndex: binary codes scanned in blocks, the nearest few
 * hundred ranked exactly), against a brute-force scan of the same embeddings held in one
 * Float32Array in memory, in the same run, with the same queries. Also: sqlite-vec's exact
 * `vec_distance_cosine` over the blob column (the engine used before), the first search after a
 * bulk load (every code block built), and recall@10 against the brute force.
 *
 * The embeddings are faces of people (2,000 identities, 50 faces each: a person's direction plus
 * noise, shifted so that every value is non-negative like the built-in model's), since the search
 * is built for data with neighbours; uniform random vectors have none worth finding.
 *
 *   LUMEN_BENCH_KNN_FACES=20000 pnpm bench face-knn    # a quick try
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FaceCodeIndex, openDatabase, SqliteVecFaceIndex } from '@lumen/db';
import { type Benchmark, type BenchRow, positiveInt, row } from '../benchmark.ts';

const FACES = positiveInt('LUMEN_BENCH_KNN_FACES', 100_000);
const QUERIES = positiveInt('LUMEN_BENCH_KNN_QUERIES', 100);
const SQLITE_VEC_QUERIES = 10;
const DIM = 512;
const K = 10;
const PEOPLE = 2_000;
const INSERT_BATCH = 500;

/** xorshift32 in [-0.5, 0.5). */
function generator(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296 - 0.5;
  };
}

/** `count` faces of `PEOPLE` people, unit length, every value >= 0. */
function faces(count: number, seed: number, people: Float32Array): Float32Array {
  const next = generator(seed);
  const out = new Float32Array(count * DIM);
  for (let v = 0; v < count; v++) {
    const person = (v * 7919) % PEOPLE;
    let norm = 0;
    for (let i = 0; i < DIM; i++) {
      const x = Math.max(0, 0.5 + (people[person * DIM + i] as number) + 0.9 * next());
      out[v * DIM + i] = x;
      norm += x * x;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < DIM; i++) out[v * DIM + i]! /= norm;
  }
  return out;
}

function people(): Float32Array {
  const next = generator(99);
  return Float32Array.from({ length: PEOPLE * DIM }, () => 2 * next());
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
  title: 'Face KNN: binary codes vs brute-force Float32Array',
  description: `k=${K} nearest by cosine among ${FACES.toLocaleString('en')} stored ${DIM}-d face embeddings of one model (${PEOPLE.toLocaleString('en')} people, non-negative values like the built-in model's), ${QUERIES} queries (new faces of known people): the engine of GET /faces/{id}/similar on SQLite (FaceCodeIndex: binary codes around the model's mean, stored in blocks of 1,024 and kept decoded in the api process, the nearest few hundred ranked exactly by cosine; 10 warm-up queries first) against a brute-force dot-product scan of the same embeddings in one in-memory Float32Array; sqlite-vec's exact vec_distance_cosine over the blob column for reference (${SQLITE_VEC_QUERIES} queries).`,
  async run(ctx): Promise<BenchRow[]> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lumen-bench-knn-'));
    const database = await openDatabase({ kind: 'sqlite', file: path.join(dir, 'knn.db') });
    try {
      if (database.vectorSearch !== 'sqlite-vec') throw new Error('sqlite-vec did not load');
      ctx.log(`making ${FACES} embeddings`);
      const persons = people();
      const all = faces(FACES, 42, persons);
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

      const index = new FaceCodeIndex(database.db);
      const queries = faces(QUERIES, 7, persons);
      let t = performance.now();
      await index.refresh('bench', DIM);
      const coldMs = performance.now() - t;
      ctx.log(`code blocks built in ${Math.round(coldMs)} ms (${index.lastStats.built} blocks)`);
      // Warm-up (JIT, this process's block cache), not measured: what a running api has.
      for (let q = 0; q < 10; q++) await index.nearest(queries.subarray(q * DIM, (q + 1) * DIM), 'bench', K);
      const codeMs: number[] = [];
      const bruteMs: number[] = [];
      let found = 0;
      for (let q = 0; q < QUERIES; q++) {
        const query = queries.subarray(q * DIM, (q + 1) * DIM);
        t = performance.now();
        const got = await index.nearest(query, 'bench', K);
        codeMs.push(performance.now() - t);
        t = performance.now();
        const want = new Set(bruteForce(all, FACES, query, K).map((i) => ids[i]));
        bruteMs.push(performance.now() - t);
        found += got.filter((g) => want.has(g.id)).length;
      }
      const vec = new SqliteVecFaceIndex(database);
      const vecMs: number[] = [];
      for (let q = 0; q < SQLITE_VEC_QUERIES; q++) {
        t = performance.now();
        await vec.nearest(queries.subarray(q * DIM, (q + 1) * DIM), 'bench', K);
        vecMs.push(performance.now() - t);
      }
      const scale = `k=${K} of ${FACES / 1000}k`;
      const baseline = 'brute-force Float32Array';
      const rows: BenchRow[] = [];
      for (const p of [50, 99]) {
        rows.push(
          row({
            name: `binary codes ${scale}`,
            metric: `p${p}`,
            value: percentile(codeMs, p),
            unit: 'ms',
            baseline,
            baselineValue: percentile(bruteMs, p),
            note: 'lower is better; target p99 <= 20 ms at 100k',
          }),
        );
      }
      rows.push(
        row({
          name: `binary codes ${scale}`,
          metric: 'recall@10 against the brute force',
          value: found / (QUERIES * K),
          unit: '',
          baseline,
          baselineValue: 1,
          note: 'higher is better',
        }),
        row({
          name: `binary codes ${scale}`,
          metric: 'first search after a bulk load (every block built)',
          value: coldMs,
          unit: 'ms',
          baseline,
          baselineValue: percentile(bruteMs, 50),
          note: 'once per bulk load; the watcher builds the blocks after a face pass',
        }),
        row({
          name: `sqlite-vec (exact) ${scale}`,
          metric: 'p50',
          value: percentile(vecMs, 50),
          unit: 'ms',
          baseline,
          baselineValue: percentile(bruteMs, 50),
          note: `lower is better; the engine before binary codes, ${SQLITE_VEC_QUERIES} queries`,
        }),
      );
      return rows;
    } finally {
      await database.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default benchmark;
