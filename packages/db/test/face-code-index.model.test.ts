/**
 * The face search by binary codes (FaceCodeIndex) against an exact model, after every step of
 * random sequences of writes: faces added (several per photo, several models, manual zero
 * faces), deleted one by one, photos re-detected, orphan rows collected, and writes that land
 * between a block build's counter read and its face read (the race the counters exist for).
 * Invariant: with fewer searchable faces than candidates, the search returns exactly what a full
 * exact scan returns. Then a quality check at a size where codes do the work (recall@10).
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Database,
  ExactScanFaceIndex,
  FACE_CODE_BLOCK_SIZE,
  FaceCodeIndex,
  FacesRepository,
  MaintenanceRepository,
} from '../src/index.ts';
import { ENGINES, type Engine, openEngine } from './test-engines.ts';

const DIM = 24;
const MODELS = ['m1', 'm2'] as const;

function vector(seed: string, dim = DIM, offset = 0): Float32Array {
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    const h = createHash('sha256').update(`${seed}:${i}`).digest();
    out[i] = offset + h.readInt32LE(0) / 2 ** 31;
  }
  return out;
}

interface Model {
  /** Live searchable faces: id -> model. */
  faces: Map<number, string>;
  photos: number;
}
interface Real {
  database: Database;
  faces: FacesRepository;
  maintenance: MaintenanceRepository;
  index: FaceCodeIndex;
  /** A second api replica: its own block cache over the same database. */
  replica: FaceCodeIndex;
  exact: ExactScanFaceIndex;
  /** A write to run inside the next block build (after its reads, before it stores the block). */
  pendingRace?: () => Promise<void>;
}
type Cmd = fc.AsyncCommand<Model, Real>;

const hashOf = (photo: number) => `xxh3-128:${photo.toString(16).padStart(32, '0')}`;

async function addPhoto(model: Model, real: Real, faces: number, modelVersion: string, zero: boolean) {
  const photo = ++model.photos;
  const ids = await real.faces.addFaces(
    { libraryId: 1, relPath: `p${photo}.jpg`, contentHash: hashOf(photo) },
    Array.from({ length: faces }, (_, i) => ({
      box: { x: 0.1 * i, y: 0, w: 0.1, h: 0.1 },
      embedding: zero ? new Float32Array(DIM) : vector(`${photo}/${i}`),
      confidence: 0.9,
      source: zero ? ('manual' as const) : ('auto' as const),
      modelVersion,
      zero,
    })),
  );
  if (!zero) for (const id of ids) model.faces.set(id, modelVersion);
}

class AddPhoto implements Cmd {
  constructor(
    readonly faces: number,
    readonly modelVersion: string,
    readonly zero: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    await addPhoto(model, real, this.faces, this.modelVersion, this.zero);
  }
  toString = () => `AddPhoto(${this.faces}, ${this.modelVersion}${this.zero ? ', zero' : ''})`;
}

/** A write that commits while a search is building a block (after its reads, before its store). */
class AddDuringBuild implements Cmd {
  constructor(readonly modelVersion: string) {}
  check = () => true;
  async run(model: Model, real: Real) {
    real.pendingRace = () => addPhoto(model, real, 1, this.modelVersion, false);
    // Make the last block stale (as a write to it would) so that the search builds it.
    const last = Math.max(0, ...model.faces.keys());
    await real.database.db
      .insertInto('face_code_versions')
      .values({ block_no: Math.floor(last / FACE_CODE_BLOCK_SIZE), version: 1 })
      .onConflict((oc) => oc.column('block_no').doUpdateSet({ version: 1_000_000 + model.photos }))
      .execute();
    await real.index.nearest(vector('q'), this.modelVersion, 3);
    real.pendingRace = undefined;
  }
  toString = () => `AddDuringBuild(${this.modelVersion})`;
}

class DeleteFace implements Cmd {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>) => model.faces.size > 0;
  async run(model: Model, real: Real) {
    const ids = [...model.faces.keys()];
    const id = ids[this.pick % ids.length] as number;
    expect(await real.faces.delete(id)).toBe(true);
    model.faces.delete(id);
  }
  toString = () => `DeleteFace(${this.pick})`;
}

/** Detect a photo again: its auto faces are replaced by new ones. */
class Rerun implements Cmd {
  constructor(
    readonly pick: number,
    readonly faces: number,
  ) {}
  check = (model: Readonly<Model>) => model.photos > 0;
  async run(model: Model, real: Real) {
    const photo = 1 + (this.pick % model.photos);
    const before = await real.faces.ofContent(hashOf(photo));
    const modelVersion = before.find((f) => f.model_version)?.model_version ?? 'm1';
    const ids = await real.faces.storeDetection(
      { libraryId: 1, relPath: `p${photo}.jpg`, contentHash: hashOf(photo) },
      {
        faces: Array.from({ length: this.faces }, (_, i) => ({
          box: { x: 0.1 * i, y: 0.5, w: 0.1, h: 0.1 },
          embedding: vector(`${photo}/rerun${model.photos}/${i}`),
          confidence: 0.8,
          source: 'auto' as const,
          modelVersion,
        })),
      },
      { onlyIfNone: false },
    );
    for (const f of before) if (f.source === 'auto') model.faces.delete(f.id);
    for (const id of ids || []) model.faces.set(id, modelVersion);
  }
  toString = () => `Rerun(${this.pick}, ${this.faces})`;
}

/** The photo is gone from every library: orphan collection drops its faces. */
class CollectOrphan implements Cmd {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>) => model.photos > 0;
  async run(model: Model, real: Real) {
    const photo = 1 + (this.pick % model.photos);
    const rows = await real.faces.ofContent(hashOf(photo));
    await real.maintenance.deleteOrphanRows([hashOf(photo)]);
    for (const r of rows) model.faces.delete(r.id);
  }
  toString = () => `CollectOrphan(${this.pick})`;
}

class Search implements Cmd {
  constructor(
    readonly modelVersion: string,
    readonly k: number,
    readonly pick: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const ids = [...model.faces.keys()];
    const exclude = ids.length > 0 ? ids[this.pick % ids.length] : undefined;
    const query = vector(`query${this.pick}`);
    const index = this.pick % 2 === 0 ? real.index : real.replica;
    const got = await index.nearest(query, this.modelVersion, this.k, exclude);
    const want = await real.exact.nearest(query, this.modelVersion, this.k, exclude);
    expect(got.map((g) => g.id)).toEqual(want.map((w) => w.id));
    for (const [i, g] of got.entries()) expect(g.similarity).toBeCloseTo(want[i]?.similarity ?? 0, 4);
    const live = [...model.faces].filter(([id, m]) => m === this.modelVersion && id !== exclude).length;
    expect(got.length).toBe(Math.min(this.k, live));
  }
  toString = () => `Search(${this.modelVersion}, k=${this.k}, ${this.pick})`;
}

const modelVersion = fc.constantFrom(...MODELS);
const commands = [
  fc
    .tuple(fc.integer({ min: 1, max: 4 }), modelVersion, fc.boolean())
    .map(([n, m, z]) => new AddPhoto(n, m, z)),
  fc.tuple(fc.integer({ min: 1, max: 4 }), modelVersion).map(([n, m]) => new AddPhoto(n, m, false)),
  modelVersion.map((m) => new AddDuringBuild(m)),
  fc.nat({ max: 1000 }).map((p) => new DeleteFace(p)),
  fc.tuple(fc.nat({ max: 1000 }), fc.integer({ min: 0, max: 3 })).map(([p, n]) => new Rerun(p, n)),
  fc.nat({ max: 1000 }).map((p) => new CollectOrphan(p)),
  fc
    .tuple(modelVersion, fc.integer({ min: 1, max: 12 }), fc.nat({ max: 1000 }))
    .map(([m, k, p]) => new Search(m, k, p)),
  fc
    .tuple(modelVersion, fc.integer({ min: 1, max: 12 }), fc.nat({ max: 1000 }))
    .map(([m, k, p]) => new Search(m, k, p)),
];

describe.each(ENGINES)('face search by binary codes on %s', (engine: Engine) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ database, cleanup } = await openEngine(engine));
    await database.db
      .insertInto('libraries')
      .values({ name: 'l', root: '/tmp/l', created_at: new Date().toISOString() })
      .execute();
  });
  afterAll(async () => cleanup?.());

  async function reset(): Promise<void> {
    for (const table of [
      'face_detections',
      'face_code_blocks',
      'face_code_versions',
      'face_code_centers',
    ] as const) {
      await database.db.deleteFrom(table).execute();
    }
  }

  it('returns what an exact scan returns after every step of random writes, races included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
        await reset();
        const real: Real = {
          database,
          faces: new FacesRepository(database.db, database.kind),
          maintenance: new MaintenanceRepository(database.db),
          exact: new ExactScanFaceIndex(database),
          replica: new FaceCodeIndex(database.db),
          index: new FaceCodeIndex(database.db, {
            beforeStore: async () => {
              const race = real.pendingRace;
              real.pendingRace = undefined;
              await race?.();
            },
          }),
        };
        const model: Model = { faces: new Map(), photos: 0 };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        // Last, every model is searched for all of its faces.
        for (const m of MODELS) await new Search(m, 50, 0).run(model, real);
      }),
      { numRuns: engine === 'sqlite' ? 40 : 12 },
    );
  });

  it('a write committed while a block is built (after its reads) is found by the next search', async () => {
    await reset();
    const model: Model = { faces: new Map(), photos: 0 };
    const faces = new FacesRepository(database.db, database.kind);
    let race: (() => Promise<void>) | undefined = async () => {
      race = undefined;
      await addPhoto(model, { database, faces } as Real, 1, 'm1', false);
    };
    const index = new FaceCodeIndex(database.db, { beforeStore: async () => race?.() });
    await addPhoto(model, { database, faces } as Real, 2, 'm1', false);
    const first = await index.nearest(vector('q'), 'm1', 10);
    expect(first).toHaveLength(2); // the build missed the face added during it...
    const second = await index.nearest(vector('q'), 'm1', 10);
    expect(second.map((f) => f.id).sort()).toEqual([...model.faces.keys()].sort()); // ...this one has it
    expect(index.lastStats.built).toBe(1);
  });
});

describe('recall where the codes do the work', () => {
  let database: Database;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ database, cleanup } = await openEngine('sqlite'));
  });
  afterAll(async () => cleanup?.());

  /** A face of person `p`: the person's direction plus noise; offset > 0: shifted, clamped at 0. */
  function faceOf(p: number, seed: string, offset: number): Float32Array {
    const person = vector(`person${p}`, 128);
    const noise = vector(seed, 128);
    return person.map((x, j) =>
      Math.max(offset > 0 ? 0 : -Infinity, x + 0.9 * (noise[j] as number) + offset),
    );
  }

  async function store(modelVersion: string, people: number, each: number, offset: number) {
    const faces = new FacesRepository(database.db, database.kind);
    for (let p = 0; p < people; p++) {
      await faces.addFaces(
        { libraryId: 1, relPath: `${modelVersion}/${p}.jpg`, contentHash: `xxh3-128:${modelVersion}${p}` },
        Array.from({ length: each }, (_, i) => ({
          box: { x: 0, y: 0, w: 0.1, h: 0.1 },
          embedding: faceOf(p, `${modelVersion}/${p}/${i}`, offset),
          confidence: 0.9,
          source: 'auto' as const,
          modelVersion,
        })),
      );
    }
  }

  it.each([
    ['centered embeddings', 'centered', 0],
    ['non-negative embeddings (like the built-in model)', 'positive', 1.5],
  ])('%s: recall@10 of 1,500 faces is at least 0.95', async (_name, modelVersion, offset) => {
    await store(modelVersion, 150, 10, offset);
    const index = new FaceCodeIndex(database.db);
    const exact = new ExactScanFaceIndex(database);
    let found = 0;
    let wanted = 0;
    for (let q = 0; q < 30; q++) {
      const query = faceOf(q * 5, `query${q}`, offset);
      const want = new Set((await exact.nearest(query, modelVersion, 10)).map((f) => f.id));
      const got = await index.nearest(query, modelVersion, 10);
      expect(index.lastStats.candidates).toBeLessThan(600); // the codes narrowed it down
      found += got.filter((f) => want.has(f.id)).length;
      wanted += want.size;
    }
    expect(found / wanted).toBeGreaterThanOrEqual(0.95);
  });
});
