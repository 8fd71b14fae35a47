import { createHash } from 'node:crypto';
import { normalizeEmbedding } from '@lumen/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Database,
  ExactScanFaceIndex,
  FaceCodeIndex,
  FacesRepository,
  faceVectorIndex,
  SqliteVecFaceIndex,
} from '../src/index.ts';
import { ENGINES, type Engine, openEngine } from './test-engines.ts';

/** A deterministic pseudo-random vector (sha256 stream). */
function vector(seed: string, dim: number): Float32Array {
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    const h = createHash('sha256').update(`${seed}:${i}`).digest();
    out[i] = h.readInt32LE(0) / 2 ** 31;
  }
  return normalizeEmbedding(out);
}

async function seed(database: Database): Promise<{ ids: number[]; vectors: Float32Array[] }> {
  const faces = new FacesRepository(database.db, database.kind);
  const vectors: Float32Array[] = [];
  const ids: number[] = [];
  for (let i = 0; i < 60; i++) {
    const v = vector(`f${i}`, 64);
    vectors.push(v);
    const [id] = await faces.addFaces(
      { libraryId: 1, relPath: `p${i}.jpg`, contentHash: `xxh3-128:${String(i).padStart(32, '0')}` },
      [
        {
          box: { x: 0, y: 0, w: 0.5, h: 0.5 },
          embedding: v,
          confidence: 0.9,
          source: 'auto',
          modelVersion: i < 50 ? 'm1' : 'm2',
        },
      ],
    );
    ids.push(id as number);
  }
  // A forced manual face (zero embedding) of m1: never found.
  await faces.addFaces({ libraryId: 1, relPath: 'zero.jpg', contentHash: `xxh3-128:${'f'.repeat(32)}` }, [
    {
      box: { x: 0, y: 0, w: 0.5, h: 0.5 },
      embedding: new Float32Array(64),
      confidence: null,
      source: 'manual',
      modelVersion: 'm1',
      zero: true,
    },
  ]);
  return { ids, vectors };
}

function expected(vectors: Float32Array[], ids: number[], query: Float32Array, k: number, exclude: number) {
  return ids
    .map((id, i) => ({ id, i, sim: vectors[i]!.reduce((s, v, j) => s + v * query[j]!, 0) }))
    .filter((r) => r.i < 50 && r.id !== exclude)
    .sort((a, b) => b.sim - a.sim || a.id - b.id)
    .slice(0, k);
}

describe.each(ENGINES)('face vector index on %s', (engine: Engine) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  let data: { ids: number[]; vectors: Float32Array[] };
  beforeAll(async () => {
    ({ database, cleanup } = await openEngine(engine));
    await database.db
      .insertInto('libraries')
      .values({ name: 'l', root: '/tmp/l', created_at: new Date().toISOString() })
      .execute();
    data = await seed(database);
  });
  afterAll(async () => cleanup?.());

  it('searches by binary codes on both databases', () => {
    expect(faceVectorIndex(database).engine).toBe('binary-codes');
  });

  it.each([1, 5, 49, 100])('finds the %i nearest of the same model, most similar first', async (k) => {
    const indexes = [
      new FaceCodeIndex(database.db),
      new ExactScanFaceIndex(database),
      ...(engine === 'sqlite' ? [new SqliteVecFaceIndex(database)] : []),
    ];
    const query = data.vectors[7] as Float32Array;
    const exclude = data.ids[7] as number;
    const want = expected(data.vectors, data.ids, query, k, exclude);
    for (const index of indexes) {
      const got = await index.nearest(query, 'm1', k, exclude);
      expect(got.map((g) => g.id)).toEqual(want.map((w) => w.id));
      for (const [i, g] of got.entries()) expect(g.similarity).toBeCloseTo(want[i]!.sim, 4);
    }
  });

  it('finds nothing for a zero query or another dimension', async () => {
    const index = faceVectorIndex(database);
    expect(await index.nearest(new Float32Array(64), 'm1', 5)).toEqual([]);
    expect(await index.nearest(vector('x', 32), 'm1', 5)).toEqual([]);
  });
});
