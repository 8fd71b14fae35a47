import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start as startApi, UsersService } from '@lumen/api';
import { createMemoryBus } from '@lumen/bus';
import { parseConfig } from '@lumen/core';
import { openDatabase, UsersRepository } from '@lumen/db';
import { type FakeFaceService, faceTestImage, startFakeFaceService } from '@lumen/test-support';
import { start as startWatcher } from '@lumen/watcher';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Faces end to end: the real watcher and the real HTTP api over one SQLite file and one bus, with the
 * fake face service (patches of one colour are one person; see @lumen/test-support).
 */

const CORPUS = path.resolve(import.meta.dirname, '../../../fixtures/corpus');
const A = 5; // identity (palette index) of "Alice"
const B = 40; // "Bob"
const C = 22; // "Carol"

let fake: FakeFaceService;
let base: string;
let root: string;
let url: string;
let token: string;
let stopAll: () => Promise<void>;

const face = (identity: number, x: number, y = 30, size = 60) => ({ identity, x, y, size });
const picture = (variant: number, faces: ReturnType<typeof face>[], orientation: 1 | 6 = 1) =>
  faceTestImage({ width: 320, height: 240, variant, faces, orientation });
const put = (rel: string, bytes: Buffer) => {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), bytes);
};

async function call<T = unknown>(
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: T; res: Response }> {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T,
    res,
  };
}

interface FaceView {
  id: number;
  bbox: { x: number; y: number; width: number; height: number };
  source: string;
  person: { id: number; name: string } | null;
  embedding_zero: boolean;
}
interface PhotoFaces {
  status: string;
  width: number;
  height: number;
  faces: FaceView[];
}
interface Person {
  id: number;
  name: string;
  cover_face_id: number | null;
  face_count: number;
  photo_count: number;
}

const facesOf = async (rel: string) =>
  (await call<PhotoFaces>('GET', `/image/faces?path=${encodeURIComponent(rel)}`)).body;

async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const detectedAll = (rels: string[]) =>
  waitFor(`faces of ${rels.join(', ')}`, async () => {
    for (const rel of rels) {
      const res = await call<PhotoFaces>('GET', `/image/faces?path=${encodeURIComponent(rel)}`);
      if (res.status !== 200 || res.body.status === 'pending') return false;
    }
    return true;
  });

beforeAll(async () => {
  fake = await startFakeFaceService();
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-faces-e2e-'));
  root = path.join(base, 'library');
  put('alice/a1.jpg', await picture(1, [face(A, 40)]));
  put('alice/a2.jpg', await picture(2, [face(A, 120, 60)]));
  put('bob/b1.jpg', await picture(3, [face(B, 30)]));
  put('bob/b2.jpg', await picture(4, [face(B, 200, 100)]));
  put('group/both.jpg', await picture(5, [face(A, 20, 20), face(B, 200, 120, 80)], 6));
  fs.copyFileSync(path.join(CORPUS, 'photo/exif-samples__Canon_40D.jpg'), path.join(root, 'landscape.jpg'));
  const config = parseConfig(
    {
      DATA_DIR: path.join(base, 'data'),
      LIBRARIES: `main=${root}`,
      BIND_URL: '127.0.0.1:0',
      SECRET_KEY: 'test-secret-key-0123456789abcdef-0123456789',
      WATCH_QUICK_INTERVAL_SECONDS: '0.3',
      APOLLO_FACE_API_BASE_URL: fake.url,
      LOG_LEVEL: 'silent',
    },
    base,
  );
  const database = await openDatabase(config.database);
  const bus = createMemoryBus();
  const logger = pino({ level: 'silent' });
  const watcher = await startWatcher({ config, database, bus, logger });
  const api = await startApi({ config, database, bus, logger });
  url = api.url;
  await new UsersService(new UsersRepository(database.db)).create({
    username: 'tester',
    password: 'a-long-password-1',
    isAdmin: false,
  });
  const login = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'tester', password: 'a-long-password-1' }),
  });
  token = ((await login.json()) as { token: string }).token;
  stopAll = async () => {
    await api.stop();
    await watcher.stop();
    await bus.close();
    await database.close();
  };
}, 60_000);

afterAll(async () => {
  await stopAll?.();
  await fake?.stop();
  fs.rmSync(base, { recursive: true, force: true });
});

describe('faces end to end', () => {
  const all = ['alice/a1.jpg', 'alice/a2.jpg', 'bob/b1.jpg', 'bob/b2.jpg', 'group/both.jpg', 'landscape.jpg'];
  let alice: Person;
  let bob: Person;

  it('detects every photo; boxes come back in displayed pixels', async () => {
    await detectedAll(all);
    const group = await facesOf('group/both.jpg');
    expect(group.status).toBe('detected');
    // Stored turned (orientation 6), displayed 320 x 240: the boxes are where they were drawn.
    expect([group.width, group.height]).toEqual([320, 240]);
    const boxes = group.faces.map((f) => f.bbox).sort((a, b) => a.x - b.x);
    expect(boxes).toHaveLength(2);
    expect(Math.abs((boxes[0]?.x ?? 0) - 20)).toBeLessThanOrEqual(4);
    expect(Math.abs((boxes[1]?.width ?? 0) - 80)).toBeLessThanOrEqual(4);
    expect((await facesOf('landscape.jpg')).status).toBe('no_faces');
  });

  it('suggests one group per person and names a group in one call', async () => {
    const { body } = await call<{ suggestions: { id: number; size: number; face_ids: number[] }[] }>(
      'GET',
      '/persons/suggestions',
    );
    expect(body.suggestions.map((s) => s.size)).toEqual([3, 3]);
    const groupFaces = await facesOf('group/both.jpg');
    const aliceFaceInGroup = groupFaces.faces.sort((a, b) => a.bbox.x - b.bbox.x)[0]?.id;
    const aliceGroup = body.suggestions.find((s) => s.face_ids.includes(aliceFaceInGroup ?? -1));
    const bobGroup = body.suggestions.find((s) => s !== aliceGroup);
    expect(aliceGroup).toBeDefined();
    alice = (await call<Person>('POST', `/persons/suggestions/${aliceGroup?.id}/name`, { name: 'Alice' }))
      .body;
    bob = (await call<Person>('POST', `/persons/suggestions/${bobGroup?.id}/name`, { name: 'Bob' })).body;
    expect(alice).toMatchObject({ name: 'Alice', face_count: 3, photo_count: 3 });
    expect(alice.cover_face_id).not.toBeNull();
    const photos = await call<{ items: { path: string }[]; total: number }>(
      'GET',
      `/photos?person=${alice.id}`,
    );
    expect(photos.body.items.map((i) => i.path).sort()).toEqual([
      'alice/a1.jpg',
      'alice/a2.jpg',
      'group/both.jpg',
    ]);
    const paged = await call<{ items: { path: string }[]; next_cursor: string | null }>(
      'GET',
      `/persons/${bob.id}/photos?limit=2`,
    );
    expect(paged.body.items).toHaveLength(2);
    expect(paged.body.next_cursor).not.toBeNull();
    // Named groups are no longer suggested.
    expect((await call<{ suggestions: unknown[] }>('GET', '/persons/suggestions')).body.suggestions).toEqual(
      [],
    );
    // Names are unique ignoring case.
    expect((await call('POST', '/persons', { name: 'alice' })).status).toBe(409);
  });

  it('binds a tagged photo’s face above the threshold, not below, and a person without faces takes one', async () => {
    put('later/a3.jpg', await picture(6, [face(A, 100)]));
    put('later/b3.jpg', await picture(7, [face(B, 100)]));
    put('later/c1.jpg', await picture(8, [face(C, 100)]));
    await detectedAll(['later/a3.jpg', 'later/b3.jpg', 'later/c1.jpg']);
    const carol = (await call<Person>('POST', '/persons', { name: 'Carol', notes: 'met in 2019' })).body;
    expect((await call('POST', '/image/tags', { path: 'later/a3.jpg', tag_name: 'alice' })).status).toBe(200);
    expect((await call('POST', '/image/tags', { path: 'later/b3.jpg', tag_name: 'Alice' })).status).toBe(200);
    expect(
      (await call('POST', '/image/tags/batch', { items: [{ path: 'later/c1.jpg' }], add: ['Carol'] })).status,
    ).toBe(200);
    expect((await facesOf('later/a3.jpg')).faces[0]?.person?.name).toBe('Alice');
    expect((await facesOf('later/b3.jpg')).faces[0]?.person).toBeNull();
    const carolFace = (await facesOf('later/c1.jpg')).faces[0];
    expect(carolFace?.person?.name).toBe('Carol');
    const carolNow = (await call<Person & { notes: string }>('GET', `/persons/${carol.id}`)).body;
    expect(carolNow.cover_face_id).toBe(carolFace?.id);
    expect(carolNow.notes).toBe('met in 2019');
  });

  it('binds at detection a photo tagged while the service was loading', async () => {
    fake.mode = 'loading';
    fake.retryAfterSec = 1;
    try {
      put('later/a4.jpg', await picture(9, [face(A, 60)]));
      await waitFor('the new photo ingested', async () => {
        const res = await call<PhotoFaces>('GET', '/image/faces?path=later%2Fa4.jpg');
        return res.status === 200 && res.body.status === 'pending';
      });
      expect((await call('POST', '/image/tags', { path: 'later/a4.jpg', tag_name: 'Alice' })).status).toBe(
        200,
      );
      expect((await facesOf('later/a4.jpg')).faces).toEqual([]);
    } finally {
      fake.mode = 'up';
    }
    await detectedAll(['later/a4.jpg']);
    expect((await facesOf('later/a4.jpg')).faces.map((f) => f.person?.name)).toEqual(['Alice']);
  });

  it('merges: faces move, the target keeps its name and cover', async () => {
    const b3 = (await facesOf('later/b3.jpg')).faces[0];
    const bobby = (await call<Person>('POST', '/persons', { name: 'Bobby', face_ids: [b3?.id] })).body;
    expect(bobby.face_count).toBe(1);
    const merged = await call<Person>('POST', `/persons/${bob.id}/merge`, { source_ids: [bobby.id] });
    expect(merged.status).toBe(200);
    expect(merged.body).toMatchObject({
      id: bob.id,
      name: 'Bob',
      cover_face_id: bob.cover_face_id,
      face_count: 4,
    });
    expect((await call('GET', `/persons/${bobby.id}`)).status).toBe(404);
    expect((await call<Person[]>('GET', '/persons')).body.map((p) => p.name)).toEqual([
      'Alice',
      'Bob',
      'Carol',
    ]);
  });

  it('lists similar faces, serves crops, assigns and unassigns', async () => {
    const a1 = (await facesOf('alice/a1.jpg')).faces[0];
    const similar = await call<{ face: FaceView; similarity: number }[]>(
      'GET',
      `/faces/${a1?.id}/similar?k=3`,
    );
    expect(similar.status).toBe(200);
    expect(similar.body).toHaveLength(3);
    expect(similar.body.every((s) => s.face.person?.name === 'Alice' && s.similarity > 0.8)).toBe(true);
    const thumb = await call('GET', `/faces/${a1?.id}/thumb`);
    expect(thumb.status).toBe(200);
    expect(thumb.res.headers.get('content-type')).toBe('image/jpeg');
    const again = await fetch(`${url}/faces/${a1?.id}/thumb`, {
      headers: { authorization: `Bearer ${token}`, 'if-none-match': thumb.res.headers.get('etag') ?? '' },
    });
    expect(again.status).toBe(304);
    const bytes = Buffer.from(
      await (
        await fetch(`${url}/faces/${a1?.id}/thumb`, { headers: { authorization: `Bearer ${token}` } })
      ).arrayBuffer(),
    );
    expect(await sharp(bytes).metadata()).toMatchObject({ width: 160, height: 160, format: 'jpeg' });
    const unassigned = await call<FaceView>('PUT', `/faces/${a1?.id}/person`, { person_id: null });
    expect(unassigned.body.person).toBeNull();
    const assigned = await call<FaceView>('PUT', `/faces/${a1?.id}/person`, { person_id: alice.id });
    expect(assigned.body.person?.name).toBe('Alice');
  });

  it('adds manual faces, and a rerun replaces only the detected ones', async () => {
    const manual = await call<FaceView>('POST', '/image/faces', {
      path: 'group/both.jpg',
      bbox: { x: 150, y: 10, width: 40, height: 40 },
      person_id: carolIdOf(await call<Person[]>('GET', '/persons')),
    });
    expect(manual.status).toBe(201);
    expect(manual.body).toMatchObject({ source: 'manual', embedding_zero: false, person: { name: 'Carol' } });
    expect(manual.body.bbox.x).toBeCloseTo(150, 0);
    const before = await facesOf('group/both.jpg');
    expect(before.faces).toHaveLength(3);
    const autoIds = before.faces.filter((f) => f.source === 'auto').map((f) => f.id);
    const rerun = await call<PhotoFaces>('POST', `/image/faces/${autoIds[0]}/rerun`);
    expect(rerun.status).toBe(200);
    expect(rerun.body.faces).toHaveLength(3);
    const after = rerun.body.faces;
    expect(after.filter((f) => f.source === 'manual').map((f) => f.id)).toEqual([manual.body.id]);
    expect(after.filter((f) => f.source === 'auto').some((f) => autoIds.includes(f.id))).toBe(false);

    // Without the service: a forced face is saved with a zero embedding; a normal one is a 503.
    await fake.stop();
    try {
      const forced = await call<FaceView>('POST', '/image/faces', {
        path: 'landscape.jpg',
        bbox: { x: 10, y: 10, width: 50, height: 50 },
        force: true,
      });
      expect(forced.status).toBe(201);
      expect(forced.body.embedding_zero).toBe(true);
      const refused = await call<{ type: string }>('POST', '/image/faces', {
        path: 'landscape.jpg',
        bbox: { x: 10, y: 10, width: 50, height: 50 },
      });
      expect(refused.status).toBe(503);
      expect(refused.body.type).toBe('https://lumen.dev/problems/unavailable');
      expect((await call('POST', `/image/faces/${autoIds[0]}/rerun`)).status).toBe(404); // replaced by the rerun
      const current = after.find((f) => f.source === 'auto')?.id;
      expect((await call('POST', `/image/faces/${current}/rerun`)).status).toBe(503);
      expect((await facesOf('group/both.jpg')).faces).toHaveLength(3);
    } finally {
      await fake.start();
    }
    const outside = await call('POST', '/image/faces', {
      path: 'landscape.jpg',
      bbox: { x: 99_999, y: 10, width: 50, height: 50 },
    });
    expect(outside.status).toBe(400);
  });
});

function carolIdOf(res: { body: Person[] }): number {
  const carol = res.body.find((p) => p.name === 'Carol');
  if (!carol) throw new Error('no Carol');
  return carol.id;
}
