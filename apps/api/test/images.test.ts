import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { splitRelPath } from '@lumen/core';
import { type ImageExifInput, ImageExifRepository, LibrariesRepository } from '@lumen/db';
import { contentHashHex, hashFile, thumbPaths } from '@lumen/media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageInfo } from './sharp-for-tests.ts';
import { problemOf, startTestApi, type TestApi } from './test-api.ts';

const CORPUS = path.resolve(import.meta.dirname, '../../../fixtures/corpus');
const IMMUTABLE = 'private, max-age=31536000, immutable';

/** Library file -> corpus file it is a copy of. */
const MAIN_FILES: Record<string, string> = {
  'rot6.jpg': 'photo/exif-samples__orientation_landscape_6.jpg', // stored 450x600, orientation 6
  'big/hdr.jpg': 'photo/exif-samples__hdr_canon_hdr_YES.jpg', // stored 2048x1536, orientation 6
  'trip/gps.jpg': 'photo/exif-samples__gps_DSCN0010.jpg',
  'clips/sample.mp4': 'video/mei__sample_mpeg4.mp4',
  'fresh/canon.jpg': 'photo/exif-samples__Canon_40D.jpg', // never ingested: made on demand from the file
  'fresh/walk.jpg': 'photo/exif-samples__Nikon_D70.jpg', // never ingested, asked for by many at once
};

describe('GET /image and /image/metadata', () => {
  let t: TestApi;
  let auth: Record<string, string>;
  let root: string;
  let otherRoot: string;
  let outside: string;
  let mainId: number;
  let otherId: number;
  const hashes: Record<string, string> = {};

  const image = (query: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`${t.url}/image?${query}`, { method, headers: { ...auth, ...headers } });
  const metadata = (query: string) => fetch(`${t.url}/image/metadata?${query}`, { headers: auth });
  const bytesOf = async (res: Response) => Buffer.from(await res.arrayBuffer());
  /** Buffer equality (vitest's deep toEqual walks buffers byte by byte: slow on whole files). */
  const expectSameBytes = (actual: Buffer, expected: Buffer) => {
    expect(actual.length).toBe(expected.length);
    expect(actual.equals(expected), 'bytes differ').toBe(true);
  };
  const q = (relPath: string, extra = '') => `path=${encodeURIComponent(relPath)}${extra}`;
  const metric = async (pattern: RegExp): Promise<number> => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const match = pattern.exec(text);
    return match ? Number(match[1]) : 0;
  };

  async function copyIn(libraryRoot: string, relPath: string, corpusFile: string): Promise<string> {
    const target = path.join(libraryRoot, relPath);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.copyFile(path.join(CORPUS, corpusFile), target);
    await fs.chmod(target, 0o644);
    return target;
  }

  async function rowFor(
    libraryId: number,
    libraryRoot: string,
    relPath: string,
    extra: Partial<ImageExifInput>,
  ) {
    const abs = path.join(libraryRoot, relPath);
    const stats = await fs.stat(abs);
    const { dir, fileName } = splitRelPath(relPath);
    const contentHash = await hashFile(abs);
    hashes[relPath] = contentHash;
    return {
      library_id: libraryId,
      rel_path: relPath,
      dir,
      file_name: fileName,
      media_type: 'photo',
      mime_type: 'image/jpeg',
      size_bytes: stats.size,
      mtime_ms: Math.floor(stats.mtimeMs),
      content_hash: contentHash,
      ...extra,
    } satisfies ImageExifInput;
  }

  beforeAll(async () => {
    t = await startTestApi();
    await t.createUser('reader', 'reader password');
    auth = { Authorization: `Bearer ${await t.tokenFor('reader', 'reader password')}` };

    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-images-test-'));
    root = path.join(base, 'main');
    otherRoot = path.join(base, 'other');
    outside = path.join(base, 'outside');
    await fs.mkdir(outside, { recursive: true });
    for (const [rel, corpus] of Object.entries(MAIN_FILES)) await copyIn(root, rel, corpus);
    await copyIn(otherRoot, 'elsewhere.jpg', 'photo/exif-samples__orientation_landscape_1.jpg');
    await copyIn(outside, 'secret.jpg', 'photo/exif-samples__orientation_landscape_3.jpg');
    await fs.writeFile(path.join(root, 'garbage.jpg'), 'this is text, not a JPEG\n'.repeat(40));
    await fs.writeFile(path.join(root, 'fresh/garbage2.jpg'), 'this is text, not a JPEG either\n'.repeat(40));
    await fs.writeFile(path.join(root, 'notes.txt'), 'shopping list');
    await fs.symlink(path.join(outside, 'secret.jpg'), path.join(root, 'escape.jpg'));
    await fs.symlink(outside, path.join(root, 'escape-dir'));
    await fs.symlink('rot6.jpg', path.join(root, 'inside-link.jpg'));

    const libraries = new LibrariesRepository(t.database.db);
    mainId = Number((await libraries.create({ name: 'main', root })).id);
    otherId = Number((await libraries.create({ name: 'Other', root: otherRoot })).id);

    await new ImageExifRepository(t.database.db).upsert([
      await rowFor(mainId, root, 'rot6.jpg', { width: 450, height: 600, orientation: 6 }),
      await rowFor(mainId, root, 'big/hdr.jpg', { width: 2048, height: 1536, orientation: 6 }),
      await rowFor(mainId, root, 'trip/gps.jpg', {
        camera_make: 'NIKON',
        camera_model: 'COOLPIX P6000',
        width: 640,
        height: 480,
        orientation: 1,
        gps_lat: 43.4674483333333,
        gps_lon: 11.8851266666639,
        focal_length: 24,
        aperture: 5.9,
        exposure_time: 0.01333333333,
        iso: 64,
        date_taken: '2008-10-22T16:28:39.000Z',
        date_taken_source: 'exif',
        thumb_status: 'ready',
        preview_status: 'pending',
      }),
      await rowFor(mainId, root, 'clips/sample.mp4', {
        media_type: 'video',
        mime_type: 'video/mp4',
        width: 190,
        height: 240,
        duration_sec: 4.97,
        video_codec: 'mpeg4',
        audio_codec: 'aac',
        date_taken: '2005-10-28T17:46:46.000Z',
        date_taken_source: 'video',
      }),
      await rowFor(mainId, root, 'garbage.jpg', { mime_type: null }),
      await rowFor(otherId, otherRoot, 'elsewhere.jpg', { orientation: 1 }),
    ]);
  });
  afterAll(async () => {
    await t.stop();
    await fs.rm(path.dirname(root), { recursive: true, force: true });
  });

  describe('size=thumb', () => {
    it('makes a missing thumbnail on demand: a valid 200x200 JPEG at the content-addressed path', async () => {
      const paths = thumbPaths(t.config.thumbnailsDir, hashes['rot6.jpg']!);
      await expect(fs.access(paths.thumb)).rejects.toThrow();
      const rendersBefore = await metric(
        /lumen_api_derivatives_rendered_total\{target="thumb",result="ready"\} (\d+)/,
      );

      const res = await image(q('rot6.jpg', '&size=thumb'));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(res.headers.get('etag')).toBe(`"${contentHashHex(hashes['rot6.jpg']!)}-thumb"`);
      expect(res.headers.get('cache-control')).toBe(IMMUTABLE);
      const bytes = await bytesOf(res);
      expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
      expect(await imageInfo(bytes)).toMatchObject({ format: 'jpeg', width: 200, height: 200 });
      expectSameBytes(await fs.readFile(paths.thumb), bytes); // where the watcher would have put it
      expect(
        await metric(/lumen_api_derivatives_rendered_total\{target="thumb",result="ready"\} (\d+)/),
      ).toBe(rendersBefore + 1);
    });

    it('answers a matching If-None-Match with 304 and no body', async () => {
      const first = await image(q('rot6.jpg', '&size=thumb'));
      const etag = first.headers.get('etag')!;
      await first.arrayBuffer();
      const res = await image(q('rot6.jpg', '&size=thumb'), { 'If-None-Match': etag });
      expect(res.status).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
      expect(res.headers.get('cache-control')).toBe(IMMUTABLE);
      expect(await res.text()).toBe('');
      const other = await image(q('rot6.jpg', '&size=thumb'), { 'If-None-Match': '"something-else"' });
      expect(other.status).toBe(200);
      await other.arrayBuffer();
    });

    it('serves a thumbnail the watcher already made, without rendering', async () => {
      const paths = thumbPaths(t.config.thumbnailsDir, hashes['trip/gps.jpg']!);
      await fs.mkdir(path.dirname(paths.thumb), { recursive: true });
      const marker = await fs.readFile(path.join(root, 'rot6.jpg')); // any JPEG: proves the file is served as is
      await fs.writeFile(paths.thumb, marker);
      const res = await image(q('trip/gps.jpg', '&size=thumb'));
      expect(res.status).toBe(200);
      expectSameBytes(await bytesOf(res), marker);
    });

    it('renders a thumbnail its row marks ready but that is missing on disk (fast path falls back)', async () => {
      const pattern = /lumen_api_derivatives_rendered_total\{target="thumb",result="ready"\} (\d+)/;
      const paths = thumbPaths(t.config.thumbnailsDir, hashes['trip/gps.jpg']!);
      await fs.rm(paths.thumb, { force: true });
      const before = await metric(pattern);
      const res = await image(q('trip/gps.jpg', '&size=thumb'));
      expect(res.status).toBe(200);
      const bytes = await bytesOf(res);
      expect(await imageInfo(bytes)).toMatchObject({ format: 'jpeg', width: 200, height: 200 });
      expectSameBytes(await fs.readFile(paths.thumb), bytes);
      expect(await metric(pattern)).toBe(before + 1);
    });

    it('serves ready thumbnails and previews of a library whose mount dropped; the original is refused', async () => {
      const mount = path.join(path.dirname(root), 'dropping');
      await copyIn(mount, 'shot.jpg', 'photo/exif-samples__Kodak_CX7530.jpg');
      const id = Number(
        (await new LibrariesRepository(t.database.db).create({ name: 'dropping', root: mount })).id,
      );
      const row = await rowFor(id, mount, 'shot.jpg', { thumb_status: 'ready', preview_status: 'ready' });
      await new ImageExifRepository(t.database.db).upsert([row]);
      const hash = row.content_hash!;
      const paths = thumbPaths(t.config.thumbnailsDir, hash);
      await fs.mkdir(path.dirname(paths.thumb), { recursive: true });
      const thumb = await fs.readFile(path.join(root, 'rot6.jpg'));
      const preview = await fs.readFile(path.join(root, 'big/hdr.jpg'));
      await fs.writeFile(paths.thumb, thumb);
      await fs.writeFile(paths.preview, preview);

      await fs.rm(mount, { recursive: true }); // the mount is gone
      const thumbRes = await image(q('shot.jpg', `&library=${id}&size=thumb`));
      expect(thumbRes.status).toBe(200);
      expect(thumbRes.headers.get('etag')).toBe(`"${hash.split(':')[1]}-thumb"`);
      expect(thumbRes.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expectSameBytes(await bytesOf(thumbRes), thumb);
      const previewRes = await image(q('shot.jpg', `&library=${id}&size=preview`));
      expect(previewRes.status).toBe(200);
      expectSameBytes(await bytesOf(previewRes), preview);
      const cached = await image(q('shot.jpg', `&library=${id}&size=thumb`), {
        'If-None-Match': thumbRes.headers.get('etag')!,
      });
      expect(cached.status).toBe(304);
      expect((await image(q('shot.jpg', `&library=${id}`))).status).toBeGreaterThanOrEqual(400);
      // A path the lexical rules refuse is refused before any row is looked at.
      const traversal = await image(`path=..%2Fdropping%2Fshot.jpg&library=${id}&size=thumb`);
      expect(traversal.status).toBe(400);
    });

    it('makes the thumbnail of a video from a frame', async () => {
      const res = await image(q('clips/sample.mp4', '&size=thumb'));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(await imageInfo(await bytesOf(res))).toMatchObject({ format: 'jpeg', width: 200, height: 200 });
    });

    it('hashes and renders a file the watcher has not ingested yet', async () => {
      const res = await image(q('fresh/canon.jpg', '&size=thumb'));
      expect(res.status).toBe(200);
      const hash = await hashFile(path.join(root, 'fresh/canon.jpg'));
      expect(res.headers.get('etag')).toBe(`"${contentHashHex(hash)}-thumb"`);
      expect(await imageInfo(await bytesOf(res))).toMatchObject({ width: 200, height: 200 });
      await fs.access(thumbPaths(t.config.thumbnailsDir, hash).thumb);
    });

    it('renders once for many concurrent requests of the same file', async () => {
      const pattern = /lumen_api_derivatives_rendered_total\{target="thumb",result="ready"\} (\d+)/;
      const before = await metric(pattern);
      const responses = await Promise.all(
        Array.from({ length: 8 }, () => image(q('fresh/walk.jpg', '&size=thumb'))),
      );
      const bodies = await Promise.all(responses.map(bytesOf));
      expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
      for (const body of bodies) expectSameBytes(body, bodies[0]!);
      expect(await metric(pattern)).toBe(before + 1);
    });

    it('answers 415 thumbnail-unsupported for a file nothing decodes, and writes the sentinel once', async () => {
      const pattern = /lumen_api_derivatives_rendered_total\{target="thumb",result="unsupported"\} (\d+)/;
      const before = await metric(pattern);
      const res = await image(q('garbage.jpg', '&size=thumb'));
      expect(res.status).toBe(415);
      const problem = await problemOf(res);
      expect(problem.type).toBe('https://lumen.dev/problems/thumbnail-unsupported');
      expect(problem.detail).toContain('garbage.jpg');
      await fs.access(thumbPaths(t.config.thumbnailsDir, hashes['garbage.jpg']!).unsupported);

      // The sentinel answers from now on: no second render, for the preview too.
      for (const size of ['thumb', 'preview']) {
        const again = await image(q('garbage.jpg', `&size=${size}`));
        expect(again.status).toBe(415);
        expect((await problemOf(again)).detail).toMatch(/sentinel/);
      }
      expect(await metric(pattern)).toBe(before + 1);
    });

    it('answers 415 for a media-named file that is not ingested and whose content is no media', async () => {
      const res = await image(q('fresh/garbage2.jpg', '&size=thumb'));
      expect(res.status).toBe(415);
      expect((await problemOf(res)).type).toBe('https://lumen.dev/problems/thumbnail-unsupported');
    });
  });

  describe('size=preview', () => {
    it('applies the orientation: the 450x600 orientation-6 photo becomes a 600x450 preview', async () => {
      const res = await image(q('rot6.jpg', '&size=preview'));
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe(`"${contentHashHex(hashes['rot6.jpg']!)}-preview"`);
      expect(res.headers.get('cache-control')).toBe(IMMUTABLE);
      // Small images are never enlarged; the stored pixels are 450 wide, 600 high.
      expect(await imageInfo(await bytesOf(res))).toMatchObject({ format: 'jpeg', width: 600, height: 450 });
    });

    it('shrinks the long side to 1440, orientation applied (2048x1536, orientation 6 -> 1080x1440)', async () => {
      const res = await image(q('big/hdr.jpg', '&size=preview'));
      expect(res.status).toBe(200);
      const info = await imageInfo(await bytesOf(res));
      expect(info).toMatchObject({ format: 'jpeg', width: 1080, height: 1440 });
      await fs.access(thumbPaths(t.config.thumbnailsDir, hashes['big/hdr.jpg']!).preview);
    });

    it('answers a format it cannot make with JPEG (the Content-Type says so)', async () => {
      const res = await image(q('rot6.jpg', '&size=preview&format=webp'));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      await res.arrayBuffer();
    });
  });

  describe('size=full', () => {
    it('streams the original with its content type and validators (the default size)', async () => {
      const original = await fs.readFile(path.join(root, 'rot6.jpg'));
      const res = await image(q('rot6.jpg'));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(res.headers.get('content-length')).toBe(String(original.length));
      expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
      const stats = await fs.stat(path.join(root, 'rot6.jpg'));
      expect(res.headers.get('last-modified')).toBe(stats.mtime.toUTCString());
      expectSameBytes(await bytesOf(res), original);
    });

    it('serves a byte range with 206 and Content-Range', async () => {
      const original = await fs.readFile(path.join(root, 'clips/sample.mp4'));
      const res = await image(q('clips/sample.mp4', '&size=full'), { Range: 'bytes=0-99' });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-type')).toBe('video/mp4');
      expect(res.headers.get('content-range')).toBe(`bytes 0-99/${original.length}`);
      expect(res.headers.get('content-length')).toBe('100');
      expectSameBytes(await bytesOf(res), original.subarray(0, 100));

      const tail = await image(q('clips/sample.mp4', '&size=full'), { Range: 'bytes=-10' });
      expect(tail.status).toBe(206);
      expectSameBytes(await bytesOf(tail), original.subarray(original.length - 10));
    });

    it('answers a range past the end with 416 and Content-Range bytes */size', async () => {
      const { size } = await fs.stat(path.join(root, 'clips/sample.mp4'));
      const res = await image(q('clips/sample.mp4', '&size=full'), { Range: 'bytes=999999999-' });
      expect(res.status).toBe(416);
      expect(res.headers.get('content-range')).toBe(`bytes */${size}`);
      expect((await problemOf(res)).type).toBe('https://lumen.dev/problems/range-not-satisfiable');
    });

    it('ignores the Range when If-Range names another version', async () => {
      const res = await image(q('rot6.jpg'), { Range: 'bytes=0-9', 'If-Range': '"not-the-etag"' });
      expect(res.status).toBe(200);
      expect((await bytesOf(res)).length).toBe((await fs.stat(path.join(root, 'rot6.jpg'))).size);
    });

    it('answers If-None-Match with 304 and HEAD without a body', async () => {
      const first = await image(q('rot6.jpg'));
      await first.arrayBuffer();
      const cached = await image(q('rot6.jpg'), { 'If-None-Match': first.headers.get('etag')! });
      expect(cached.status).toBe(304);
      expect(await cached.text()).toBe('');
      const head = await image(q('rot6.jpg'), {}, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(first.headers.get('content-length'));
      expect(await head.text()).toBe('');
    });

    it('serves a media file the watcher has not ingested, typed by its bytes', async () => {
      const res = await image(q('fresh/canon.jpg'));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expectSameBytes(await bytesOf(res), await fs.readFile(path.join(root, 'fresh/canon.jpg')));
    });

    it('follows a symlink that stays inside the root', async () => {
      const res = await image(q('inside-link.jpg'));
      expect(res.status).toBe(200);
      expectSameBytes(await bytesOf(res), await fs.readFile(path.join(root, 'rot6.jpg')));
    });
  });

  describe('paths', () => {
    it.each([
      ['../outside/secret.jpg', 'path.traversal'],
      ['%2e%2e/outside/secret.jpg', 'path.traversal'],
      ['trip/%2e%2e/%2e%2e/outside/secret.jpg', 'path.traversal'],
      ['%252e%252e%252foutside%252fsecret.jpg', 'path.encoded'],
      [encodeURIComponent(path.join(CORPUS, 'photo/exif-samples__Canon_40D.jpg')), 'path.absolute'],
      ['/etc/passwd', 'path.absolute'],
      ['rot6.jpg%00.png', 'path.nul'],
      ['..%5Csecret.jpg', 'path.backslash'],
      ['', 'path.empty'],
    ])('refuses %s with 400 invalid-path (%s), for every size and for metadata', async (rawPath, code) => {
      for (const url of [
        `image?path=${rawPath}`,
        `image?path=${rawPath}&size=thumb`,
        `image?path=${rawPath}&size=preview`,
        `image/metadata?path=${rawPath}`,
      ]) {
        const res = await fetch(`${t.url}/${url}`, { headers: auth });
        expect(res.status, url).toBe(400);
        const problem = await problemOf(res);
        expect(problem.type).toBe('https://lumen.dev/problems/invalid-path');
        expect(problem.detail.startsWith(`${code}: `), problem.detail).toBe(true);
        expect(problem.errors).toEqual([{ in: 'query', name: 'path', message: problem.detail }]);
      }
    });

    it('refuses a symlink that leads out of the root (file or folder), with 400 path.symlink-escape', async () => {
      for (const query of [q('escape.jpg'), q('escape.jpg', '&size=thumb'), q('escape-dir/secret.jpg')]) {
        const res = await image(query);
        expect(res.status).toBe(400);
        const problem = await problemOf(res);
        expect(problem.type).toBe('https://lumen.dev/problems/invalid-path');
        expect(problem.detail).toMatch(/^path\.symlink-escape: /);
      }
    });

    it('answers an unknown file with 404 for every size and for metadata', async () => {
      for (const query of [
        q('no/such.jpg'),
        q('no/such.jpg', '&size=thumb'),
        q('no/such.jpg', '&size=preview'),
      ]) {
        const res = await image(query);
        expect(res.status).toBe(404);
        expect((await problemOf(res)).type).toBe('https://lumen.dev/problems/not-found');
      }
      const res = await metadata(q('no/such.jpg'));
      expect(res.status).toBe(404);
      expect((await problemOf(res)).type).toBe('https://lumen.dev/problems/not-found');
    });

    it('answers a file that is no media, and a folder, with 404', async () => {
      for (const query of [
        q('notes.txt'),
        q('notes.txt', '&size=thumb'),
        q('trip'),
        q('trip', '&size=thumb'),
      ]) {
        const res = await image(query);
        expect(res.status, query).toBe(404);
        expect((await problemOf(res)).type).toBe('https://lumen.dev/problems/not-found');
      }
    });

    it('names a missing path or a bad size in a 400 validation problem', async () => {
      const missing = await problemOf(await fetch(`${t.url}/image?size=thumb`, { headers: auth }));
      expect(missing.status).toBe(400);
      expect(missing.errors?.map((e) => e.name)).toEqual(['path']);
      const badSize = await problemOf(await image(q('rot6.jpg', '&size=huge')));
      expect(badSize.status).toBe(400);
      expect(badSize.errors?.map((e) => e.name)).toEqual(['size']);
    });

    it('needs a token', async () => {
      const res = await fetch(`${t.url}/image?${q('rot6.jpg')}`);
      expect(res.status).toBe(401);
    });
  });

  describe('library', () => {
    it('defaults to the first library (lowest id)', async () => {
      expect(mainId).toBeLessThan(otherId);
      expect((await image(q('rot6.jpg'))).status).toBe(200);
      const res = await image(q('elsewhere.jpg'));
      expect(res.status).toBe(404);
    });

    it('is found by name (any case) and by id', async () => {
      const expected = await fs.readFile(path.join(otherRoot, 'elsewhere.jpg'));
      for (const library of ['Other', 'other', String(otherId)]) {
        const res = await image(q('elsewhere.jpg', `&library=${library}`));
        expect(res.status, library).toBe(200);
        expectSameBytes(await bytesOf(res), expected);
      }
      const thumb = await image(q('elsewhere.jpg', `&library=${otherId}&size=thumb`));
      expect(thumb.status).toBe(200);
      expect(await imageInfo(await bytesOf(thumb))).toMatchObject({ width: 200, height: 200 });
      const meta = await metadata(q('elsewhere.jpg', '&library=other'));
      expect(((await meta.json()) as { library: unknown }).library).toEqual({ id: otherId, name: 'Other' });
    });

    it('answers an unknown library with 404', async () => {
      for (const library of ['nope', '9999']) {
        const res = await image(q('rot6.jpg', `&library=${library}`));
        expect(res.status).toBe(404);
        const problem = await problemOf(res);
        expect(problem.type).toBe('https://lumen.dev/problems/not-found');
        expect(problem.detail).toContain(library);
        expect((await metadata(q('rot6.jpg', `&library=${library}`))).status).toBe(404);
      }
    });
  });

  describe('GET /image/metadata', () => {
    it('returns the stored EXIF and file facts', async () => {
      const stats = await fs.stat(path.join(root, 'trip/gps.jpg'));
      const res = await metadata(q('trip/gps.jpg', '&library=main'));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        library: { id: mainId, name: 'main' },
        path: 'trip/gps.jpg',
        media_type: 'photo',
        mime_type: 'image/jpeg',
        size_bytes: stats.size,
        mtime: new Date(Math.floor(stats.mtimeMs)).toISOString(),
        content_hash: hashes['trip/gps.jpg'],
        camera_make: 'NIKON',
        camera_model: 'COOLPIX P6000',
        lens_model: null,
        width: 640,
        height: 480,
        orientation: 1,
        gps: { lat: 43.4674483333333, lon: 11.8851266666639, alt: null },
        focal_length: 24,
        aperture: 5.9,
        exposure_time: 0.01333333333,
        iso: 64,
        date_taken: '2008-10-22T16:28:39.000Z',
        date_taken_offset: null,
        date_taken_source: 'exif',
        duration_sec: null,
        video_codec: null,
        audio_codec: null,
        thumb_status: 'ready',
        preview_status: 'pending',
        missing_since: null,
      });
    });

    it('returns video facts and a null gps when there is none', async () => {
      const body = (await (await metadata(q('clips/sample.mp4'))).json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        media_type: 'video',
        mime_type: 'video/mp4',
        duration_sec: 4.97,
        video_codec: 'mpeg4',
        audio_codec: 'aac',
        gps: null,
        date_taken_source: 'video',
        thumb_status: 'pending',
      });
    });

    it('answers 404 for a file that is there but not ingested yet', async () => {
      const res = await metadata(q('fresh/canon.jpg'));
      expect(res.status).toBe(404);
      expect((await problemOf(res)).detail).toMatch(/not ingested yet/);
    });
  });

  it('counts served images and videos by size and media type on /metrics', async () => {
    const served = (size: string, mediaType: string) =>
      metric(new RegExp(`lumen_images_served_total\\{size="${size}",media_type="${mediaType}"\\} (\\d+)`));
    const thumbs = await served('thumb', 'photo');
    const videos = await served('full', 'video');
    await (await image(q('rot6.jpg', '&size=thumb'))).arrayBuffer();
    await (await image(q('clips/sample.mp4'), { Range: 'bytes=0-9' })).arrayBuffer();
    await (await image(q('rot6.jpg', '&size=thumb'), { 'If-None-Match': '*' })).arrayBuffer(); // 304: not counted
    expect(await served('thumb', 'photo')).toBe(thumbs + 1);
    expect(await served('full', 'video')).toBe(videos + 1);
  });
});
