import { normalizeEmbedding } from '@lumen/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Database,
  FacesRepository,
  ImageExifRepository,
  LibrariesRepository,
  PersonNameTakenError,
  PersonsRepository,
  TagsRepository,
} from '../src/index.ts';
import { ENGINES, type Engine, openEngine } from './test-engines.ts';

const hash = (n: number) => `xxh3-128:${String(n).padStart(32, '0')}`;
const face = (x: number, v: number[]) => ({
  box: { x, y: 0.1, w: 0.2, h: 0.2 },
  embedding: normalizeEmbedding(Float32Array.from(v)),
  confidence: 0.9,
  source: 'auto' as const,
  modelVersion: 'm',
});

describe.each(ENGINES)('faces and persons repositories on %s', (engine: Engine) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  let faces: FacesRepository;
  let persons: PersonsRepository;
  let libraryId: number;

  beforeAll(async () => {
    ({ database, cleanup } = await openEngine(engine));
    faces = new FacesRepository(database.db, database.kind);
    persons = new PersonsRepository(database.db);
    const [library] = await new LibrariesRepository(database.db).upsertConfigured([
      { name: 'main', root: '/tmp/main' },
    ]);
    libraryId = library!.id;
    await database.db.updateTable('libraries').set({ status: 'online' }).execute();
    const row = (relPath: string, n: number, mediaType = 'photo') => ({
      library_id: libraryId,
      rel_path: relPath,
      dir: relPath.includes('/') ? relPath.slice(0, relPath.lastIndexOf('/')) : '',
      file_name: relPath.slice(relPath.lastIndexOf('/') + 1),
      media_type: mediaType,
      mime_type: 'image/jpeg',
      size_bytes: 1,
      mtime_ms: 1,
      content_hash: hash(n),
    });
    await new ImageExifRepository(database.db).upsert([
      row('a/1.jpg', 1),
      row('a/copy-of-1.jpg', 1),
      row('a/2.jpg', 2),
      row('@eaDir/3.jpg', 3),
      row('v/4.mp4', 4, 'video'),
      row('r/5.dng', 5, 'raw'),
    ]);
  });
  afterAll(async () => cleanup?.());

  it('the backlog: one location per content, photos and RAW only, excluded folders left out', async () => {
    const items = await faces.backlog(10, ['@eaDir']);
    expect(items.map((i) => i.relPath)).toEqual(['a/1.jpg', 'a/2.jpg', 'r/5.dng']);
    expect(items[0]).toMatchObject({ libraryName: 'main', root: '/tmp/main', contentHash: hash(1) });
    expect((await faces.backlog(10, [])).map((i) => i.relPath)).toContain('@eaDir/3.jpg');
  });

  it('stores a detection once; a rerun replaces auto rows and markers, manual rows stay', async () => {
    const where = { libraryId, relPath: 'a/1.jpg', contentHash: hash(1) };
    const ids = await faces.storeDetection(
      where,
      { faces: [face(0.1, [1, 0]), face(0.5, [0, 1])] },
      { onlyIfNone: true },
    );
    expect(ids).toHaveLength(2);
    expect(
      await faces.storeDetection(where, { marker: 'no_faces', modelVersion: 'm' }, { onlyIfNone: true }),
    ).toBe(false);
    await faces.storeDetection(
      { ...where, contentHash: hash(2), relPath: 'a/2.jpg' },
      { marker: 'no_faces', modelVersion: 'm' },
      { onlyIfNone: true },
    );
    expect((await faces.backlog(10, ['@eaDir'])).map((i) => i.relPath)).toEqual(['r/5.dng']);
    const [manual] = await faces.addFaces(where, [{ ...face(0.7, [1, 1]), source: 'manual' }]);
    const rerun = await faces.storeDetection(where, { faces: [face(0.2, [1, 0])] }, { onlyIfNone: false });
    const rows = await faces.ofContent(hash(1));
    expect(rows.map((r) => r.id).sort()).toEqual([manual, ...(rerun as number[])].sort());
    // A rerun that finds nothing keeps the manual face and writes no marker.
    await faces.storeDetection(where, { marker: 'no_faces', modelVersion: 'm' }, { onlyIfNone: false });
    expect((await faces.ofContent(hash(1))).map((r) => r.source)).toEqual(['manual']);
  });

  it('a rerun keeps who is who: a face found again where an assigned one was keeps its person and cover', async () => {
    const where = { libraryId, relPath: 'a/copy-of-1.jpg', contentHash: hash(7) };
    const [left, right, third] = (await faces.storeDetection(
      where,
      { faces: [face(0.1, [1, 0]), face(0.5, [0, 1]), face(0.75, [1, 1])] },
      { onlyIfNone: true },
    )) as number[];
    const bo = await persons.create('Bo');
    const cy = await persons.create('Cy');
    await faces.setPerson([left!], bo.id);
    await persons.setCover(bo.id, left!);
    await faces.setPerson([right!], cy.id);
    // Found again: the left face a little shifted, the right one gone, a new one far away; the
    // third (unassigned) overlaps its old place but had no one to keep.
    const shifted = { ...face(0.12, [1, 0]) };
    const far = { ...face(0.8, [0, 1]), box: { x: 0.75, y: 0.6, w: 0.2, h: 0.2 } };
    const [newLeft, newFar] = (await faces.storeDetection(
      where,
      { faces: [shifted, far] },
      { onlyIfNone: false },
    )) as number[];
    expect((await faces.byId(newLeft!))?.person_id).toBe(bo.id);
    expect((await persons.findById(bo.id))?.cover_face_id).toBe(newLeft);
    expect((await faces.byId(newFar!))?.person_id).toBeNull();
    expect((await persons.withCounts(cy.id))?.face_count).toBe(0);
    expect(await faces.byId(third!)).toBeUndefined();
  });

  it('persons: unique names, merge keeps the target, tagged names find persons', async () => {
    const where = { libraryId, relPath: 'r/5.dng', contentHash: hash(5) };
    const [f1, f2] = (await faces.storeDetection(
      where,
      { faces: [face(0.1, [1, 0]), face(0.5, [0, 1])] },
      { onlyIfNone: true },
    )) as number[];
    const ann = await persons.create('Ann  Lee');
    await expect(persons.create('ann lee')).rejects.toBeInstanceOf(PersonNameTakenError);
    const other = await persons.create('Annie');
    await faces.setPerson([f1!], ann.id);
    await persons.setCover(ann.id, f1!);
    await faces.setPerson([f2!], other.id);
    await persons.setCover(other.id, f2!);
    expect(await persons.merge(other.id, ann.id)).toBe(1);
    const merged = await persons.withCounts(ann.id);
    expect(merged).toMatchObject({ name: 'Ann Lee', cover_face_id: f1, face_count: 2, photo_count: 1 });
    expect(await persons.findById(other.id)).toBeUndefined();

    const tags = new TagsRepository(database.db);
    const { tag } = await tags.create('ANN lee');
    await tags.addTag(tag.id, { libraryId, relPath: 'r/5.dng', contentHash: hash(5) });
    expect((await persons.taggedOnContent(hash(5))).map((p) => p.id)).toEqual([ann.id]);
    expect((await faces.personVectors(ann.id, 'm')).length).toBe(2);

    // Moving the cover to another person, or unassigning it, clears it; deleting a person unassigns the faces.
    const third = await persons.create('Third');
    await faces.setPerson([f1!], third.id);
    expect((await persons.findById(ann.id))?.cover_face_id).toBeNull();
    await faces.setPerson([f1!], ann.id);
    await persons.setCover(ann.id, f1!);
    await faces.setPerson([f1!], null);
    expect((await persons.findById(ann.id))?.cover_face_id).toBeNull();
    await persons.delete(ann.id);
    expect((await faces.byId(f2!))?.person_id).toBeNull();
  });

  it('clusters: decisions are stored and listed, biggest first', async () => {
    const pending = await faces.unassignedVectors('m', false, 100);
    expect(pending.length).toBeGreaterThanOrEqual(3);
    const [a, b, c] = pending.map((p) => p.id);
    await faces.applyCluster(a!, undefined);
    await faces.applyCluster(b!, { clusterId: b!, members: [b!, a!], merged: [] });
    await faces.applyCluster(c!, { clusterId: c!, members: [c!], merged: [b!] });
    const clusters = await faces.clusters(2, 10);
    expect(clusters).toEqual([
      { clusterId: c, modelVersion: 'm', size: 3, faceIds: expect.arrayContaining([a, b, c]) },
    ]);
    expect(await faces.clusterFaceIds(c!)).toHaveLength(3);
  });
});
