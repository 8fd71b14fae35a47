import fs from 'node:fs';
import path from 'node:path';
import { ImageExifRepository, type ImageExifRow, LibrariesRepository } from '@lumen/db';
import { makeThumbnail, thumbPaths } from '@lumen/media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS, copyIn, type Harness, startHarness, waitFor } from './watcher-harness.ts';

const GOOD: Record<string, string> = {
  'photos/Canon_40D.jpg': 'photo/exif-samples__Canon_40D.jpg',
  'photos/gps.jpg': 'photo/exif-samples__gps_DSCN0010.jpg',
  'photos/rotated/orientation_6.jpg': 'photo/exif-samples__orientation_landscape_6.jpg',
  'photos/with-gps.png': 'photo/exifr__png_with_exif_and_gps.png',
  'photos/HTC.webp': 'photo/mei__HTC_Desire.webp',
  'raw/canon_eos_6d.DNG': 'raw/photoprism__canon_eos_6d.dng',
  'videos/sample.3gp': 'video/mei__sample.3gp',
  'videos/with-gps.mp4': 'video/mei__with-gps.mp4',
};
const GENERATED = ['generated/gen-1.jpg', 'generated/gen-2.jpg'];
const BROKEN = fs.readdirSync(path.join(CORPUS, 'broken')).map((name) => `broken/${name}`);
const SKIPPED = [
  '@eaDir/Canon_40D.jpg/SYNOPHOTO_THUMB_M.jpg',
  '.hidden/a.jpg',
  '#recycle/old.jpg',
  '.dot.jpg',
];

/**
 * A JPEG whose frame header claims 60000 x 60000 pixels (a decompression bomb), refused before
 * decoding. Walks the marker segments so the EXIF thumbnail's own frame header is left alone.
 */
function writeBomb(target: string): void {
  const bytes = Buffer.from(fs.readFileSync(path.join(CORPUS, 'photo/exif-samples__Canon_40D.jpg')));
  let at = 2;
  while (at + 9 < bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1]!;
    if (marker >= 0xc0 && marker <= 0xc3) {
      bytes.writeUInt16BE(60000, at + 5);
      bytes.writeUInt16BE(60000, at + 7);
      fs.writeFileSync(target, bytes);
      return;
    }
    at += 2 + bytes.readUInt16BE(at + 2);
  }
  throw new Error('no frame header found');
}

let h: Harness;
let imageExif: ImageExifRepository;
let libraries: LibrariesRepository;
let libraryId: number;

const rowsByPath = async (): Promise<Map<string, ImageExifRow>> => {
  const rows = await h.database.db
    .selectFrom('image_exif')
    .selectAll()
    .where('library_id', '=', libraryId)
    .execute();
  return new Map(rows.map((r) => [r.rel_path, r]));
};

beforeAll(async () => {
  h = await startHarness({
    async prepare(root) {
      for (const [rel, corpus] of Object.entries(GOOD)) copyIn(root, corpus, rel);
      fs.mkdirSync(path.join(root, 'generated'));
      await makeThumbnail(
        path.join(CORPUS, 'photo/exif-samples__gps_DSCN0010.jpg'),
        path.join(root, GENERATED[0]!),
        {
          size: 333,
        },
      );
      await makeThumbnail(path.join(CORPUS, 'photo/mei__Canon_EOS_7D.jpg'), path.join(root, GENERATED[1]!), {
        size: 250,
      });
      for (const rel of BROKEN) copyIn(root, rel, rel);
      writeBomb(path.join(root, 'broken/bomb.jpg'));
      for (const rel of SKIPPED) copyIn(root, 'photo/exif-samples__Canon_40D.jpg', rel);
      fs.writeFileSync(path.join(root, 'photos/notes.txt'), 'not media');
    },
  });
  imageExif = new ImageExifRepository(h.database.db);
  libraries = new LibrariesRepository(h.database.db);
  libraryId = (await libraries.findByName('main'))!.id;
  // The first tick (a full scan) starts at once; tickNow waits for it, then runs a quick one.
  await h.watcher.tickNow();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('watcher', () => {
  it('registers the configured library, Online', async () => {
    const library = await libraries.findByName('main');
    expect(library).toMatchObject({ root: h.root, status: 'online' });
    expect(library?.last_full_scan_at).toBeTruthy();
  });

  it('ingests every media file on the first scan: rows, hashes, thumbnails, events', async () => {
    const rows = await rowsByPath();
    const expected = [...Object.keys(GOOD), ...GENERATED, ...BROKEN, 'broken/bomb.jpg'].sort();
    expect([...rows.keys()].sort()).toEqual(expected);
    for (const rel of [...Object.keys(GOOD), ...GENERATED]) {
      const row = rows.get(rel)!;
      expect(row.content_hash, rel).toMatch(/^xxh3-128:[0-9a-f]{32}$/);
      expect(row.thumb_status, `${rel}: ${row.ingest_error}`).toBe('ready');
      expect(fs.existsSync(thumbPaths(h.thumbnailsDir, row.content_hash!).thumb), rel).toBe(true);
      expect(row.size_bytes).toBe(fs.statSync(path.join(h.root, rel)).size);
      expect(row.dir).toBe(path.posix.dirname(rel));
    }
    const events = new Map(h.ingested.map((e) => [e.relPath, e]));
    for (const [rel, row] of rows) {
      if (row.thumb_status !== 'ready') {
        expect(events.has(rel), `no event for unreadable ${rel}`).toBe(false);
        continue;
      }
      expect(events.get(rel), rel).toMatchObject({
        libraryId,
        library: 'main',
        contentHash: row.content_hash,
        mediaType: row.media_type,
        isNew: true,
      });
    }
    expect(h.ingested.every((e) => e.isNew)).toBe(true);
  });

  it('stores EXIF for photos and ffprobe facts for videos', async () => {
    const rows = await rowsByPath();
    expect(rows.get('photos/Canon_40D.jpg')).toMatchObject({
      media_type: 'photo',
      mime_type: 'image/jpeg',
      camera_make: 'Canon',
      camera_model: 'Canon EOS 40D',
      date_taken_source: 'exif',
    });
    const gps = rows.get('photos/gps.jpg')!;
    // exiftool's reading (corpus expected.json)
    expect(gps.gps_lat).toBeCloseTo(43.4674483333333, 5);
    expect(gps.gps_lon).toBeCloseTo(11.8851266666639, 5);
    expect(rows.get('raw/canon_eos_6d.DNG')).toMatchObject({ media_type: 'raw', camera_make: 'Canon' });
    const video = rows.get('videos/with-gps.mp4')!;
    expect(video).toMatchObject({ media_type: 'video', date_taken_source: 'video' });
    expect(video.duration_sec).toBeGreaterThan(0);
    expect(video.video_codec).toBeTruthy();
    const event = h.ingested.find((e) => e.relPath === 'videos/with-gps.mp4');
    expect(event?.durationSec).toBeGreaterThan(0);
    // No camera date: the file's mtime, flagged as such.
    expect(rows.get('generated/gen-1.jpg')?.date_taken_source).toBe('mtime');
  });

  it('skips @eaDir, #recycle, dot-folders, dot-files and non-media files', async () => {
    const rows = await rowsByPath();
    for (const rel of [...SKIPPED, 'photos/notes.txt']) expect(rows.has(rel), rel).toBe(false);
  });

  it('records broken and hostile files without stopping the scan, and does not retry them', async () => {
    const rows = await rowsByPath();
    for (const rel of [...BROKEN, 'broken/bomb.jpg']) {
      const row = rows.get(rel)!;
      expect(['ready', 'unsupported', 'failed'], rel).toContain(row.thumb_status);
      if (row.thumb_status !== 'ready') expect(row.ingest_error, rel).toBeTruthy();
    }
    const zero = rows.get('broken/photoprism__zero-bytes_2018-04-12_19_24_49.mov')!;
    expect(zero).toMatchObject({ size_bytes: 0, thumb_status: 'unsupported' });
    expect(fs.existsSync(thumbPaths(h.thumbnailsDir, zero.content_hash!).unsupported)).toBe(true);
    expect(rows.get('broken/bomb.jpg')?.thumb_status).toBe('unsupported');
    // A JPEG named .png is typed by its content.
    expect(rows.get('broken/photoprism__this-is-a-jpeg.png')).toMatchObject({
      mime_type: 'image/jpeg',
      thumb_status: 'ready',
    });
    const warned = h.logs
      .filter((l) => l.level === 40 && typeof l.path === 'string')
      .map((l) => String(l.path));
    expect(warned.some((p) => p.endsWith('broken/bomb.jpg'))).toBe(true);
  });

  it('makes previews after the thumbnails, at lower priority', async () => {
    await h.watcher.whenIdle();
    const rows = await rowsByPath();
    for (const rel of [...Object.keys(GOOD), ...GENERATED]) {
      const row = rows.get(rel)!;
      expect(row.preview_status, rel).toBe('ready');
      expect(fs.existsSync(thumbPaths(h.thumbnailsDir, row.content_hash!).preview), rel).toBe(true);
    }
  });

  it('does not re-ingest an unchanged tree', async () => {
    const before = h.ingested.length;
    const updatedAt = (await rowsByPath()).get('photos/Canon_40D.jpg')?.updated_at;
    await h.watcher.tickNow();
    expect(h.ingested.length).toBe(before);
    const [scan] = h.watcher.lastScans();
    expect(scan).toMatchObject({ kind: 'quick', new: 0, changed: 0, completed: true });
    expect((await rowsByPath()).get('photos/Canon_40D.jpg')?.updated_at).toBe(updatedAt);
  });

  it('picks up a photo copied in (keeping its old mtime) within one quick interval', async () => {
    const target = copyIn(h.root, 'photo/exif-samples__Nikon_D70.jpg', 'photos/new/nikon.jpg');
    const old = new Date('2005-01-01T00:00:00Z');
    fs.utimesSync(target, old, old);
    const event = await waitFor('media.ingested for the new file', () =>
      h.ingested.find((e) => e.relPath === 'photos/new/nikon.jpg'),
    );
    expect(event.isNew).toBe(true);
    const row = await imageExif.findByPath(libraryId, 'photos/new/nikon.jpg');
    expect(row).toMatchObject({
      thumb_status: 'ready',
      camera_make: 'NIKON CORPORATION',
      mtime_ms: old.getTime(),
    });
    expect(fs.existsSync(thumbPaths(h.thumbnailsDir, row!.content_hash!).thumb)).toBe(true);
  });

  it('re-ingests a changed file (isNew false)', async () => {
    const rel = 'generated/gen-1.jpg';
    const before = await imageExif.findByPath(libraryId, rel);
    fs.copyFileSync(path.join(CORPUS, 'photo/exif-samples__Pentax_K10D.jpg'), path.join(h.root, rel));
    const event = await waitFor('media.ingested for the changed file', () =>
      h.ingested.find((e) => e.relPath === rel && e.contentHash !== before?.content_hash),
    );
    expect(event.isNew).toBe(false);
    const after = await imageExif.findByPath(libraryId, rel);
    expect(after).toMatchObject({
      id: before?.id,
      content_hash: event.contentHash,
      camera_make: 'PENTAX Corporation',
    });
    expect(after?.size_bytes).not.toBe(before?.size_bytes);
  });

  it('marks an emptied root Stale (as an unmounted mount point), publishes it, and ingests nothing', async () => {
    const away = `${h.root}.away`;
    const rowCount = await imageExif.countByLibrary(libraryId);
    fs.renameSync(h.root, away);
    fs.mkdirSync(h.root);
    fs.copyFileSync(
      path.join(CORPUS, 'photo/exif-samples__Sony_HDR-HC3.jpg'),
      path.join(away, 'during-outage.jpg'),
    );
    try {
      const stale = await waitFor('library.status stale', () => h.statuses.find((s) => s.status === 'stale'));
      expect(stale).toMatchObject({ libraryId, library: 'main', previous: 'online' });
      expect(stale.reason).toMatch(/lists no files/);
      const before = h.ingested.length;
      await h.watcher.tickNow();
      await h.watcher.tickNow();
      expect(h.ingested.length).toBe(before);
      expect(await imageExif.countByLibrary(libraryId)).toBe(rowCount);
      expect(await libraries.findById(libraryId)).toMatchObject({ status: 'stale' });
      expect(h.watcher.lastScans()).toEqual([]);
    } finally {
      fs.rmdirSync(h.root);
      fs.renameSync(away, h.root);
    }
    const online = await waitFor('library.status online', () =>
      h.statuses.find((s) => s.status === 'online'),
    );
    expect(online).toMatchObject({ previous: 'stale' });
    // Back Online: a full scan finds what arrived meanwhile.
    await waitFor('the file added during the outage', () =>
      h.ingested.find((e) => e.relPath === 'during-outage.jpg'),
    );
  });

  it('exports scan and ingest metrics', async () => {
    const text = await h.watcher.registry.metrics();
    expect(text).toMatch(/lumen_watcher_files_seen_total\{library="main",kind="full"\} \d+/);
    expect(text).toMatch(/lumen_watcher_files_ingested_total\{library="main",result="new"\} \d+/);
    expect(text).toContain('lumen_watcher_library_online{library="main"} 1');
  });

  it('stops promptly', async () => {
    const started = Date.now();
    await h.watcher.stop();
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});
