import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { consoleBusLogger, Lease } from '@lumen/bus';
import { LEASES_BUCKET, WATCHER_LEASE_KEY } from '@lumen/core';
import {
  type ImageExifInput,
  ImageExifRepository,
  LibrariesRepository,
  MissingFilesRepository,
} from '@lumen/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemOf, startTestApi, type TestApi } from './test-api.ts';

describe('GET/POST /libraries', () => {
  let t: TestApi;
  let roots: string;
  let admin: Record<string, string>;
  let viewer: Record<string, string>;
  let repo: LibrariesRepository;

  const get = (headers: Record<string, string>) => fetch(`${t.url}/libraries`, { headers });
  const post = (headers: Record<string, string>, body: unknown) =>
    fetch(`${t.url}/libraries`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const newRoot = async (name: string) => {
    const dir = path.join(roots, name);
    await fs.mkdir(dir, { recursive: true });
    return dir;
  };

  beforeAll(async () => {
    t = await startTestApi();
    roots = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-libraries-test-'));
    await t.createUser('boss', 'boss password', true);
    await t.createUser('viewer', 'viewer password', false);
    admin = { Authorization: `Bearer ${await t.tokenFor('boss', 'boss password')}` };
    viewer = { Authorization: `Bearer ${await t.tokenFor('viewer', 'viewer password')}` };
    repo = new LibrariesRepository(t.database.db);
  });
  afterAll(async () => {
    await t.stop();
    await fs.rm(roots, { recursive: true, force: true });
  });

  it('needs a token', async () => {
    expect((await get({})).status).toBe(401);
    expect((await post({}, { name: 'x', root: roots })).status).toBe(401);
  });

  it('lists nothing before any library exists', async () => {
    const res = await get(viewer);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
  });

  it('lets an admin add a library: 201 with the new library, online and empty', async () => {
    const root = await newRoot('photos');
    const res = await post(admin, { name: 'photos', root: `${root}/` });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      id: expect.any(Number),
      name: 'photos',
      root, // normalized: no trailing slash
      status: 'online',
      status_reason: null,
      status_changed_at: null,
      suspect_reason: null,
      suspect_since: null,
      missing_confirmed_at: null,
      last_quick_scan_at: null,
      last_full_scan_at: null,
      watched_by: null,
      counts: { photo: 0, raw: 0, video: 0, total: 0, missing: 0 },
    });
    // The watcher reads the table on its next tick: the row is what it will find.
    expect(await repo.findByName('photos')).toMatchObject({ id: body.id, root });
  });

  it('refuses a non-admin with 403, before looking at the body', async () => {
    for (const body of [{ name: 'mine', root: await newRoot('mine') }, { nonsense: true }]) {
      const res = await post(viewer, body);
      expect(res.status).toBe(403);
      const problem = await problemOf(res);
      expect(problem.type).toBe('https://lumen.dev/problems/forbidden');
      expect(problem.detail).toMatch(/admin/);
    }
    expect(await repo.findByName('mine')).toBeUndefined();
  });

  it('answers a duplicate name (any case) with 409', async () => {
    const res = await post(admin, { name: 'PHOTOS', root: await newRoot('other-photos') });
    expect(res.status).toBe(409);
    const problem = await problemOf(res);
    expect(problem.type).toBe('https://lumen.dev/problems/conflict');
    expect(problem.detail).toContain('photos');
  });

  it('answers a root that is already a library (even through a symlink) with 409', async () => {
    const root = path.join(roots, 'photos');
    expect((await post(admin, { name: 'again', root })).status).toBe(409);
    const link = path.join(roots, 'photos-link');
    await fs.symlink(root, link);
    const res = await post(admin, { name: 'via-link', root: link });
    expect(res.status).toBe(409);
    expect((await problemOf(res)).detail).toContain('"photos"');
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['a relative root', { name: 'rel', root: 'some/folder' }, 'root', /not an absolute path/],
    [
      'a root that does not exist',
      { name: 'gone', root: '/no/such/folder/anywhere' },
      'root',
      /does not exist/,
    ],
    ['a NUL in the root', { name: 'nul', root: '/tmp/a\u0000b' }, 'root', /NUL/],
    ['a name with a slash', { name: 'a/b', root: '/tmp' }, 'name', /letters, digits/],
    ['an empty name', { name: '  ', root: '/tmp' }, 'name', /letters, digits/],
    ['a name of digits only', { name: '42', root: '/tmp' }, 'name', /library id/],
    ['a name over 64 characters', { name: 'x'.repeat(65), root: '/tmp' }, 'name', /1 to 64/],
    ['a missing name', { root: '/tmp' }, 'name', /./],
    ['a root of the wrong type', { name: 'typed', root: 42 }, 'root', /./],
  ])('answers %s with 400 naming the field', async (_label, body, field, message) => {
    const res = await post(admin, body);
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.type).toBe('https://lumen.dev/problems/validation');
    expect(problem.errors).toEqual([expect.objectContaining({ in: 'body', name: field })]);
    expect(problem.errors?.[0]?.message).toMatch(message);
  });

  it('answers a root that is a file with 400 naming root', async () => {
    const file = path.join(roots, 'a-file.txt');
    await fs.writeFile(file, 'not a folder');
    const problem = await problemOf(await post(admin, { name: 'filed', root: file }));
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual([{ in: 'body', name: 'root', message: `${file} is not a directory` }]);
  });

  it('lists libraries by id with status, scan times and per-type counts; root only for admins', async () => {
    const archive = (await (
      await post(admin, { name: 'archive', root: await newRoot('archive') })
    ).json()) as {
      id: number;
    };
    const photos = (await repo.findByName('photos'))!;
    const row = (rel: string, media_type: string): ImageExifInput => ({
      library_id: Number(photos.id),
      rel_path: rel,
      dir: '',
      file_name: rel,
      media_type,
      size_bytes: 1,
      mtime_ms: 0,
    });
    await new ImageExifRepository(t.database.db).upsert([
      row('a.jpg', 'photo'),
      row('b.jpg', 'photo'),
      row('c.arw', 'raw'),
      row('d.mp4', 'video'),
    ]);
    await repo.setStatus(archive.id, 'stale', 'root lists empty while the database has rows');
    await repo.markScanned(Number(photos.id), 'quick', '2024-05-01T10:00:00.000Z');
    await repo.markScanned(Number(photos.id), 'full', '2024-05-01T09:00:00.000Z');

    const res = await get(admin);
    expect(res.status).toBe(200);
    const list = (await res.json()) as Record<string, unknown>[];
    expect(list.map((l) => l.name)).toEqual(['photos', 'archive']);
    expect(list[0]).toMatchObject({
      id: Number(photos.id),
      root: path.join(roots, 'photos'),
      status: 'online',
      last_quick_scan_at: '2024-05-01T10:00:00.000Z',
      last_full_scan_at: '2024-05-01T09:00:00.000Z',
      counts: { photo: 2, raw: 1, video: 1, total: 4 },
    });
    expect(list[1]).toMatchObject({
      id: archive.id,
      status: 'stale',
      status_reason: 'root lists empty while the database has rows',
      status_changed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      counts: { photo: 0, raw: 0, video: 0, total: 0 },
    });

    const seenByViewer = (await (await get(viewer)).json()) as Record<string, unknown>[];
    expect(seenByViewer.map((l) => l.name)).toEqual(['photos', 'archive']);
    for (const library of seenByViewer) expect(library).not.toHaveProperty('root');
    expect(seenByViewer[0]).toMatchObject({ counts: { total: 4 } });
  });

  it('shows which watcher replica holds the watcher lease (watched_by), null when none does', async () => {
    expect(((await (await get(admin)).json()) as { watched_by: unknown }[])[0]!.watched_by).toBeNull();
    const lease = new Lease({
      store: await t.bus.keyValue(LEASES_BUCKET),
      key: WATCHER_LEASE_KEY,
      holder: 'watcher-7',
      ttlMs: 60_000,
      logger: consoleBusLogger,
    });
    expect(await lease.acquire()).toBe(true);
    const list = (await (await get(admin)).json()) as { watched_by: unknown }[];
    expect(list.map((l) => l.watched_by)).toEqual(list.map(() => 'watcher-7'));
    await lease.release();
    expect(((await (await get(admin)).json()) as { watched_by: unknown }[])[0]!.watched_by).toBeNull();
  });

  it('shows a suspect library as suspect with its reason and missing count; an admin confirms the episode', async () => {
    const photos = (await repo.findByName('photos'))!;
    const missing = new MissingFilesRepository(t.database.db);
    const images = new ImageExifRepository(t.database.db);
    const a = await images.findByPath(Number(photos.id), 'a.jpg');
    await missing.markMissing([a!.id], '2026-01-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z');
    await repo.setSuspect(
      Number(photos.id),
      'every file of the library (3) vanished at once',
      '2026-01-02T00:00:00.000Z',
    );

    const suspect = ((await (await get(viewer)).json()) as Record<string, unknown>[])[0];
    expect(suspect).toMatchObject({
      status: 'suspect',
      status_reason: 'every file of the library (3) vanished at once',
      suspect_reason: 'every file of the library (3) vanished at once',
      suspect_since: '2026-01-02T00:00:00.000Z',
      missing_confirmed_at: null,
      counts: { total: 3, missing: 1 },
    });

    const confirm = (headers: Record<string, string>, id: string) =>
      fetch(`${t.url}/libraries/${encodeURIComponent(id)}/confirm-missing`, { method: 'POST', headers });
    expect((await confirm(viewer, String(photos.id))).status).toBe(403);
    expect((await problemOf(await confirm(admin, 'nope'))).type).toBe('https://lumen.dev/problems/not-found');
    const archive = await confirm(admin, 'archive');
    expect(archive.status).toBe(409);
    expect((await problemOf(archive)).detail).toMatch(/not suspect/);

    const res = await confirm(admin, 'photos');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'online',
      suspect_reason: 'every file of the library (3) vanished at once',
      missing_confirmed_at: '2026-01-02T00:00:00.000Z',
    });
    // The watcher ends the episode on a tick that finds nothing suspect.
    await repo.setSuspect(Number(photos.id), null, '2026-01-03T00:00:00.000Z');
    expect(((await (await get(admin)).json()) as Record<string, unknown>[])[0]).toMatchObject({
      status: 'online',
      suspect_reason: null,
    });
  });

  // PostgreSQL refuses a NUL byte in a text and an id past its 4-byte `integer` in a query (the
  // whole statement fails), where SQLite just finds nothing: such input must not reach it.
  it.each([
    ['/video/wall?library=%00', 400],
    ['/photos?library=%00', 400],
    ['/photos?camera_make=a%00b', 400],
    ['/image/metadata?library=%00&path=a.jpg', 400],
    ['/video/wall?library=99999999999999999999999', 404],
    ['/photos?library=2147483648', 404],
    ['/photos?tag_ids=2147483648', 400],
    ['/faces/2147483648', 400],
  ])('answers %s with %i, not a database error', async (url, status) => {
    const res = await fetch(`${t.url}${url}`, { headers: viewer });
    expect((await problemOf(res)).status).toBe(status);
  });
});
