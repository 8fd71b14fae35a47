import fs from 'node:fs';
import path from 'node:path';
import { ImageExifRepository, LibrariesRepository } from '@lumen/db';
import { afterEach, describe, expect, it } from 'vitest';
import { CORPUS, copyIn, type Harness, startHarness, waitFor } from './watcher-harness.ts';

/** Scans every hour: only a `media.uploaded` request can get a new file ingested during a test. */
const SLOW_SCANS = { WATCH_QUICK_INTERVAL_SECONDS: '3600', WATCH_FULL_INTERVAL_SECONDS: '86400' };

describe('media.uploaded: ingest one file now', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  async function start(): Promise<{ h: Harness; libraryId: number; rows: ImageExifRepository }> {
    h = await startHarness({
      prepare: (root) => {
        copyIn(root, 'photo/exif-samples__Canon_40D.jpg', 'first.jpg');
      },
      env: SLOW_SCANS,
    });
    await h.watcher.tickNow();
    await h.watcher.whenIdle();
    const library = (await new LibrariesRepository(h.database.db).findByName('main'))!;
    return { h, libraryId: Number(library.id), rows: new ImageExifRepository(h.database.db) };
  }

  it('ingests the named file through the pipeline and publishes media.ingested', async () => {
    const { h, libraryId, rows } = await start();
    copyIn(h.root, 'photo/mei__Sony_DSC-HX5V.jpg', 'uploads/new.jpg');
    const before = h.ingested.length;
    await h.bus.enqueue('media.uploaded', {
      libraryId,
      library: 'main',
      relPath: 'uploads/new.jpg',
      at: new Date().toISOString(),
    });
    const row = await waitFor('the row', () => rows.findByPath(libraryId, 'uploads/new.jpg'), 5_000);
    expect(row).toMatchObject({
      dir: 'uploads',
      file_name: 'new.jpg',
      camera_make: 'SONY',
      thumb_status: 'ready',
    });
    expect(row.content_hash).toMatch(/^xxh3-128:/);
    await waitFor('media.ingested', () => h.ingested.length > before);
    expect(h.ingested.at(-1)).toMatchObject({ relPath: 'uploads/new.jpg', isNew: true, mediaType: 'photo' });
  });

  it('ignores malformed events, paths outside the root, non-media files, unknown and Stale libraries', async () => {
    const { h, libraryId, rows } = await start();
    const outside = path.join(h.base, 'outside.jpg');
    fs.copyFileSync(path.join(CORPUS, 'photo/exif-samples__Nikon_D70.jpg'), outside);
    fs.symlinkSync(outside, path.join(h.root, 'link.jpg'));
    fs.writeFileSync(path.join(h.root, 'notes.txt'), 'text');
    copyIn(h.root, 'photo/exif-samples__Pentax_K10D.jpg', 'stale.jpg');
    const at = new Date().toISOString();
    const events: unknown[] = [
      { libraryId, relPath: 'first.jpg' },
      { libraryId, library: 'main', relPath: '../outside.jpg', at },
      { libraryId, library: 'main', relPath: 'link.jpg', at },
      { libraryId, library: 'main', relPath: 'notes.txt', at },
      { libraryId, library: 'main', relPath: 'missing.jpg', at },
      { libraryId: 999, library: 'gone', relPath: 'first.jpg', at },
    ];
    for (const event of events) await h.bus.enqueue('media.uploaded', event);
    const handled = () => h!.logs.filter((l) => l.component === 'ingest-request').length;
    await waitFor('the six jobs handled', () => handled() >= events.length);
    await h.database.db
      .updateTable('libraries')
      .set({ status: 'stale' })
      .where('id', '=', libraryId)
      .execute();
    await h.bus.enqueue('media.uploaded', { libraryId, library: 'main', relPath: 'stale.jpg', at });
    await new Promise((r) => setTimeout(r, 500));
    await h.watcher.whenIdle();
    const paths = (await h.database.db.selectFrom('image_exif').select('rel_path').execute()).map(
      (r) => r.rel_path,
    );
    expect(paths).toEqual(['first.jpg']);
    expect(await rows.findByPath(libraryId, 'link.jpg')).toBeUndefined();
    const warnings = h.logs.filter((l) => l.component === 'ingest-request').map((l) => l.msg);
    expect(warnings).toEqual(
      expect.arrayContaining([
        'ignoring a malformed media.uploaded job',
        'media.uploaded path refused',
        'media.uploaded names no media file',
        'uploaded file is not there',
        'media.uploaded names an unknown library',
        'upload left for the next scan (library is Stale)',
      ]),
    );
  });
});
