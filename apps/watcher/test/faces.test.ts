import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FacesRepository } from '@lumen/db';
import { thumbPaths } from '@lumen/media';
import { type FakeFaceService, faceTestImage, startFakeFaceService } from '@lumen/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { copyIn, type Harness, startHarness, waitFor } from './watcher-harness.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let fake: FakeFaceService;
beforeAll(async () => {
  fake = await startFakeFaceService();
});
afterAll(async () => {
  await fake.stop();
});

const write = (root: string, rel: string, bytes: Buffer) => {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), bytes);
};

async function rowsByPath(h: Harness) {
  const rows = await h.database.db
    .selectFrom('image_exif as ie')
    .leftJoin('face_detections as fd', 'fd.content_hash', 'ie.content_hash')
    .select([
      'ie.rel_path',
      'ie.content_hash',
      'fd.status',
      'fd.bbox_x',
      'fd.bbox_y',
      'fd.bbox_w',
      'fd.bbox_h',
      'fd.model_version',
    ])
    .orderBy('ie.rel_path')
    .orderBy('fd.bbox_x')
    .execute();
  const out = new Map<string, typeof rows>();
  for (const row of rows) out.set(row.rel_path, [...(out.get(row.rel_path) ?? []), row]);
  return out;
}

describe('watcher face stage', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    fake.mode = 'up';
    fake.delayMs = 0;
    await fake.start();
  });

  it('detects each content once, sends RAW previews, never videos or excluded folders', async () => {
    const people = await faceTestImage({
      width: 400,
      height: 300,
      orientation: 6,
      faces: [
        { identity: 3, x: 40, y: 50, size: 60 },
        { identity: 20, x: 250, y: 150, size: 80 },
      ],
    });
    const secret = await faceTestImage({
      width: 200,
      height: 200,
      faces: [{ identity: 9, x: 20, y: 20, size: 60 }],
    });
    const sentBefore = fake.requests.length;
    h = await startHarness({
      env: { APOLLO_FACE_API_BASE_URL: fake.url, EXCLUDED_DIRS: 'private', FACE_DETECT_CONCURRENCY: '2' },
      prepare(root) {
        write(root, 'people/group.jpg', people);
        write(root, 'people/copy/group-again.jpg', people);
        write(root, 'private/secret.jpg', secret);
        copyIn(root, 'photo/exif-samples__Canon_40D.jpg', 'plain/canon.jpg');
        copyIn(root, 'raw/photoprism__canon_eos_6d.dng', 'raw/canon.dng');
        copyIn(root, 'video/mei__sample.3gp', 'videos/sample.3gp');
      },
    });
    const harness = h;
    const wanted = ['people/group.jpg', 'people/copy/group-again.jpg', 'plain/canon.jpg', 'raw/canon.dng'];
    const rows = await waitFor(
      'face rows of every photo',
      async () => {
        const byPath = await rowsByPath(harness);
        return wanted.every((p) => byPath.get(p)?.[0]?.status) ? byPath : undefined;
      },
      20_000,
    );
    await harness.watcher.tickNow();

    // The group: two faces, boxes as fractions of the upright picture (400 x 300 as displayed).
    const group = rows.get('people/group.jpg') ?? [];
    expect(group.map((r) => r.status)).toEqual(['detected', 'detected']);
    expect(group[0]?.model_version).toBe('lumen-fake-squares-1');
    expect(group[0]?.bbox_x).toBeCloseTo(40 / 400, 1);
    expect(group[0]?.bbox_y).toBeCloseTo(50 / 300, 1);
    expect(group[1]?.bbox_w).toBeCloseTo(80 / 400, 1);
    // The duplicate shares the content's rows: one detection for both paths.
    expect(rows.get('people/copy/group-again.jpg')?.map((r) => r.status)).toEqual(['detected', 'detected']);
    const groupHash = group[0]?.content_hash ?? '';
    const detects = fake.requests.slice(sentBefore).filter((r) => r.path === '/v1/faces/detect');
    const groupPreview = fs.readFileSync(thumbPaths(harness.thumbnailsDir, groupHash).preview);
    expect(detects.filter((r) => r.imageSha256 === sha256(groupPreview))).toHaveLength(1);

    // RAW: its preview went out (a JPEG the service could read), not the raw bytes.
    const raw = rows.get('raw/canon.dng')?.[0];
    expect(raw?.status).toBe('no_faces');
    const rawPreview = fs.readFileSync(thumbPaths(harness.thumbnailsDir, raw?.content_hash ?? '').preview);
    expect(detects.some((r) => r.imageSha256 === sha256(rawPreview) && r.contentType === 'image/jpeg')).toBe(
      true,
    );
    expect(rows.get('plain/canon.jpg')?.[0]?.status).toBe('no_faces');

    // Never sent: the video and the excluded folder (no rows, and exactly one request per photo content).
    expect(rows.get('videos/sample.3gp')?.[0]?.status).toBeNull();
    expect(rows.get('private/secret.jpg')?.[0]?.status).toBeNull();
    expect(detects).toHaveLength(3);
    expect(detects.every((r) => r.status === 200)).toBe(true);

    // The similarity search's code blocks were built by the tick after the faces were stored.
    const blocks = await harness.database.db
      .selectFrom('face_code_blocks')
      .select(['model_version', 'faces'])
      .execute();
    expect(blocks).toEqual([{ model_version: 'lumen-fake-squares-1', faces: 2 }]);
  });

  it('loses nothing when the service stops mid-backlog, and finishes when it returns', async () => {
    const count = 8;
    const images = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        faceTestImage({
          width: 160,
          height: 120,
          variant: i,
          faces: [{ identity: 1 + i, x: 10 + i * 5, y: 10, size: 40 }],
        }),
      ),
    );
    fake.delayMs = 150;
    const sentBefore = fake.requests.length;
    h = await startHarness({
      env: {
        APOLLO_FACE_API_BASE_URL: fake.url,
        FACE_BACKLOG_MAX_PER_TICK: '2',
        FACE_DETECT_CONCURRENCY: '1',
        FACE_DETECT_TIMEOUT_SEC: '2',
      },
      prepare(root) {
        for (const [i, bytes] of images.entries()) write(root, `batch/p${i}.jpg`, bytes);
      },
    });
    const harness = h;
    const faces = new FacesRepository(harness.database.db, harness.database.kind);
    const detected = async () => (await faces.countByStatus()).detected ?? 0;
    await waitFor('some faces', async () => (await detected()) >= 1, 20_000);
    await fake.stop();
    // A detection answered just before the stop may still be written: let it land first.
    await harness.watcher.tickNow();
    await new Promise((r) => setTimeout(r, 200));
    const stoppedAt = await detected();
    expect(stoppedAt).toBeLessThan(count);
    for (let i = 0; i < 3; i++) await harness.watcher.tickNow();
    expect(await detected()).toBe(stoppedAt);
    expect(await faces.countByStatus()).not.toHaveProperty('failed');
    expect(harness.watcher.faces?.isDown()).toBe(true);
    expect(harness.logs.some((l) => l.msg === 'face service unavailable; photos wait in the backlog')).toBe(
      true,
    );

    await fake.start();
    await waitFor('every photo detected', async () => (await detected()) === count, 30_000);
    expect(await faces.countByStatus()).toEqual({ detected: count });
    // Every content answered, one row each: an answer cut off by the stop is asked for again, and
    // nothing is stored twice.
    const answered = fake.requests
      .slice(sentBefore)
      .filter((r) => r.path === '/v1/faces/detect' && r.status === 200);
    expect(new Set(answered.map((r) => r.imageSha256)).size).toBe(count);
    const hashes = await harness.database.db.selectFrom('face_detections').select('content_hash').execute();
    expect(new Set(hashes.map((r) => r.content_hash)).size).toBe(count);
  });

  it('sends nothing while the service loads (503 + Retry-After), then goes on', async () => {
    fake.mode = 'loading';
    fake.retryAfterSec = 4;
    const image = await faceTestImage({
      width: 100,
      height: 100,
      faces: [{ identity: 2, x: 10, y: 10, size: 40 }],
    });
    h = await startHarness({
      env: { APOLLO_FACE_API_BASE_URL: fake.url },
      prepare(root) {
        write(root, 'a.jpg', image);
      },
    });
    const harness = h;
    const faces = new FacesRepository(harness.database.db, harness.database.kind);
    await waitFor('a 503', () => fake.requests.some((r) => r.status === 503));
    const refused = fake.requests.filter((r) => r.status === 503).length;
    for (let i = 0; i < 3; i++) await harness.watcher.tickNow();
    // Within Retry-After no further request went out.
    expect(fake.requests.filter((r) => r.status === 503).length).toBe(refused);
    expect(await faces.countByStatus()).toEqual({});
    fake.mode = 'up';
    await waitFor('the face', async () => (await faces.countByStatus()).detected === 1, 15_000);
    fake.retryAfterSec = 1;
  });

  it('says once that faces are off when no service is configured, and sends nothing', async () => {
    const sentBefore = fake.requests.length;
    h = await startHarness({
      prepare(root) {
        copyIn(root, 'photo/exif-samples__Canon_40D.jpg', 'a.jpg');
      },
    });
    await h.watcher.whenIdle();
    await h.watcher.tickNow();
    expect(h.watcher.faces).toBeUndefined();
    expect(h.logs.filter((l) => String(l.msg).startsWith('faces off'))).toHaveLength(1);
    expect(fake.requests.length).toBe(sentBefore);
    expect(await new FacesRepository(h.database.db, h.database.kind).countByStatus()).toEqual({});
  });
});
