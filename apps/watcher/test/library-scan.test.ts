import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMemoryBus } from '@lumen/bus';
import { type MediaIngestedEvent, storedMtimeMs } from '@lumen/core';
import {
  type Database,
  ImageExifRepository,
  JobOutboxRepository,
  LibrariesRepository,
  MissingFilesRepository,
  openDatabase,
} from '@lumen/db';
import { ExiftoolProcess, thumbPaths } from '@lumen/media';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestPipeline } from '../src/ingest/ingest-pipeline.ts';
import { JobOutbox } from '../src/ingest/job-outbox.ts';
import { type LibraryRef, scanLibrary } from '../src/scan/library-scan.ts';
import { createWatcherMetrics } from '../src/watcher-metrics.ts';
import { CORPUS, copyIn } from './watcher-harness.ts';

const OLD = new Date('2010-05-05T10:00:00Z');
const logger = pino({ level: 'silent' });

let base: string;
let root: string;
let thumbnailsDir: string;
let database: Database;
let imageExif: ImageExifRepository;
let missingFiles: MissingFilesRepository;
let library: LibraryRef;
let pipeline: IngestPipeline;
let exiftool: ExiftoolProcess;
const events: MediaIngestedEvent[] = [];
const bus = createMemoryBus();
const metrics = createWatcherMetrics();

function age(rel: string): void {
  fs.utimesSync(path.join(root, rel), OLD, OLD);
}

const scan = (kind: 'quick' | 'full', changedSinceMs = 0) =>
  scanLibrary({ library, kind, changedSinceMs, imageExif, missingFiles, sink: pipeline, logger, metrics });

beforeAll(async () => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-scan-'));
  root = path.join(base, 'library');
  thumbnailsDir = path.join(base, 'thumbnails');
  copyIn(root, 'photo/exif-samples__Canon_40D.jpg', 'a/one.jpg');
  copyIn(root, 'photo/exif-samples__Nikon_D70.jpg', 'a/two.jpg');
  copyIn(root, 'photo/exif-samples__Pentax_K10D.jpg', 'b/three.jpg');
  fs.writeFileSync(path.join(root, 'b/empty.jpg'), '');
  for (const rel of ['a/one.jpg', 'a/two.jpg', 'b/three.jpg', 'b/empty.jpg', 'a', 'b', '.']) age(rel);
  database = await openDatabase({ kind: 'sqlite', file: path.join(base, 'lumen.db') });
  imageExif = new ImageExifRepository(database.db);
  missingFiles = new MissingFilesRepository(database.db);
  const [row] = await new LibrariesRepository(database.db).upsertConfigured([{ name: 'scan', root }]);
  library = { id: row!.id, name: row!.name, root };
  exiftool = new ExiftoolProcess();
  pipeline = new IngestPipeline({
    imageExif,
    bus,
    outbox: new JobOutbox({ repository: new JobOutboxRepository(database.db), bus, logger }),
    logger,
    metrics,
    concurrency: 2,
    fileTimeoutMs: 30_000,
    stepTimeoutMs: 30_000,
    thumbnailsDir,
    thumbSize: 200,
    previewSize: 1440,
    exiftool,
  });
  await bus.subscribe<MediaIngestedEvent>('media.ingested', (e) => {
    events.push(e);
  });
});

afterAll(async () => {
  await pipeline?.stop(1000);
  await exiftool?.close();
  await bus.close();
  await database?.close();
  fs.rmSync(base, { recursive: true, force: true });
});

describe('scanLibrary', () => {
  it('a full scan compares every directory and ingests what is new', async () => {
    const summary = await scan('full');
    expect(summary).toMatchObject({ seen: 4, dirs: 3, comparedDirs: 2, new: 4, changed: 0, completed: true });
    expect(summary).toMatchObject({ ingested: 3, unsupported: 1, failed: 0 });
    expect(await imageExif.countByLibrary(library.id)).toBe(4);
    const one = await imageExif.findByPath(library.id, 'a/one.jpg');
    expect(one).toMatchObject({
      dir: 'a',
      file_name: 'one.jpg',
      mtime_ms: OLD.getTime(),
      thumb_status: 'ready',
    });
  });

  it('a quick scan skips directories untouched since the cut-off, even with a file missing from the database', async () => {
    copyIn(root, 'photo/exif-samples__Sony_HDR-HC3.jpg', 'a/hidden-from-quick.jpg');
    age('a/hidden-from-quick.jpg');
    age('a');
    const quick = await scan('quick', Date.now() - 60_000);
    expect(quick).toMatchObject({ seen: 5, comparedDirs: 0, new: 0 });
    const full = await scan('full');
    expect(full).toMatchObject({ comparedDirs: 2, new: 1, changed: 0 });
  });

  it('a quick scan compares folders the database has no row in, even with old mtimes (moved in)', async () => {
    copyIn(root, 'photo/exif-samples__Olympus_C8080WZ.jpg', 'moved/in/m.jpg');
    for (const rel of ['moved/in/m.jpg', 'moved/in', 'moved']) age(rel);
    const quick = await scan('quick', Date.now() - 60_000);
    expect(quick).toMatchObject({ comparedDirs: 1, unknownDirs: 1, new: 1, changed: 0 });
    expect(await imageExif.findByPath(library.id, 'moved/in/m.jpg')).toMatchObject({ thumb_status: 'ready' });
    expect(await scan('quick', Date.now() - 60_000)).toMatchObject({
      comparedDirs: 0,
      unknownDirs: 0,
      new: 0,
    });
  });

  it('a quick scan compares a directory when one of its files is newer than the cut-off', async () => {
    const cutoff = Date.now() - 60_000;
    fs.copyFileSync(
      path.join(CORPUS, 'photo/exif-samples__Ricoh_Caplio_RR330.jpg'),
      path.join(root, 'b/three.jpg'),
    );
    age('b'); // a rewrite in place leaves the directory alone anyway
    const before = events.length;
    const quick = await scan('quick', cutoff);
    expect(quick).toMatchObject({ comparedDirs: 1, new: 0, changed: 1 });
    const row = await imageExif.findByPath(library.id, 'b/three.jpg');
    expect(row?.camera_model).toMatch(/RR330/);
    expect(row?.mtime_ms).toBe(storedMtimeMs(fs.statSync(path.join(root, 'b/three.jpg')).mtimeMs));
    expect(events.slice(before)).toEqual([expect.objectContaining({ relPath: 'b/three.jpg', isNew: false })]);
  });

  it('leaves an unsupported file alone until its sentinel is deleted', async () => {
    const empty = await imageExif.findByPath(library.id, 'b/empty.jpg');
    const sentinel = thumbPaths(thumbnailsDir, empty!.content_hash!).unsupported;
    expect(fs.existsSync(sentinel)).toBe(true);
    expect(await scan('full')).toMatchObject({ new: 0, changed: 0, retried: 0 });
    fs.rmSync(sentinel);
    expect(await scan('full')).toMatchObject({ new: 0, changed: 0, retried: 1, unsupported: 1 });
    expect(fs.existsSync(sentinel)).toBe(true);
  });

  it('a full scan makes previews that are still pending (e.g. after a restart)', async () => {
    await pipeline.whenIdle();
    const row = await imageExif.findByPath(library.id, 'a/one.jpg');
    const preview = thumbPaths(thumbnailsDir, row!.content_hash!).preview;
    expect(fs.existsSync(preview)).toBe(true);
    fs.rmSync(preview);
    await imageExif.setThumbStatus(row!.id, 'ready', 'pending');
    expect(await scan('full')).toMatchObject({ new: 0, changed: 0, retried: 0 });
    await pipeline.whenIdle();
    expect(fs.existsSync(preview)).toBe(true);
    expect((await imageExif.findByPath(library.id, 'a/one.jpg'))?.preview_status).toBe('ready');
  });
});
