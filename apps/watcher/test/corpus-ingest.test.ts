/**
 * The whole sample corpus through the real watcher: every file of fixtures/corpus (photo/, raw/,
 * video/, broken/) copied into a temp library, one full scan to idle, then each stored row compared
 * with exiftool's reading in expected.json. Tolerated differences are listed below with their reason.
 */
import fs from 'node:fs';
import path from 'node:path';
import { storedMtimeMs } from '@lumen/core';
import type { ImageExifRow } from '@lumen/db';
import { orientationFromRotation, thumbPaths } from '@lumen/media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScanSummary } from '../src/scan/scan-progress.ts';
import { CORPUS, copyIn, type Harness, startHarness, waitFor } from './watcher-harness.ts';

/** exiftool's reading of one corpus file (the fields compared here; see expected.json's fieldRules). */
interface ExpectedFile {
  kind: 'photo' | 'raw' | 'video' | 'broken';
  Make: string | null;
  Model: string | null;
  DateTimeOriginal: string | null;
  OffsetTimeOriginal: string | null;
  GPSLatitude: number | null;
  GPSLongitude: number | null;
  Orientation: number | null;
  Rotation: number | null;
  ImageWidth: number | null;
  ImageHeight: number | null;
  exiftoolError: string | null;
}

interface ExpectedJson {
  generator: Record<string, string>;
  fieldRules: Record<string, string>;
  files: Record<string, ExpectedFile>;
}

type Field = 'make' | 'model' | 'date' | 'gps' | 'orientation' | 'dimensions';

/**
 * Why a field differs from exiftool and, where given, what we store instead, which is checked: the
 * value for plain fields, `date_taken_source` for the date.
 */
interface Tolerance {
  reason: string;
  stored?: unknown;
}

/**
 * Accepted differences from the exiftool reference. Key: corpus path; value: per field, the reason
 * and, where given, the value we store instead (compared in place of exiftool's). Every other field
 * of every file is compared. The video reasons are those of the extractor-level test
 * (packages/media/test/video.test.ts); the photo-level ones there (Canon ISO and Olympus lens in
 * maker notes, Casio ISO 0, altitude without its ref) concern fields not compared here.
 */
const TOLERATED: Record<string, Partial<Record<Field, Tolerance>>> = {
  'video/mei__Sony_ILCE-7M3.mts': {
    date: {
      reason: 'the date is in H.264 SEI user data (H264:DateTimeOriginal), which ffprobe does not expose',
      stored: 'mtime',
    },
    make: { reason: 'H264:Make from SEI user data, not exposed by ffprobe', stored: null },
    model: { reason: 'H264:Model from SEI user data, not exposed by ffprobe', stored: null },
  },
  'broken/file-type__fixture-sony-zv-e10.arw': {
    dimensions: {
      reason:
        'truncated at 100,000 bytes: the raw SubIFD with the sensor size is cut off, so exiftool has no ' +
        'Composite:ImageSize; we keep the EXIF ExifImageWidth/Height the camera wrote (its maker notes ' +
        'say FullImageSize 6000x4000 too)',
      stored: [6000, 4000],
    },
  },
  'broken/mei__beach.jpg': {
    dimensions: {
      reason:
        'the JPEG frame header says height 0 (the height would follow in a DNL marker, which libjpeg ' +
        'does not support): exiftool reports 200x0, we store the unknown height as null',
      stored: [200, null],
    },
  },
};

/** The scan of the whole corpus (about 100 files, 30 MB) must finish within this. */
const SCAN_LIMIT_MS = 60_000;
/** And the previews after it. */
const IDLE_LIMIT_MS = 30_000;

const FOLDERS = ['photo', 'raw', 'video', 'broken'] as const;
const FILES = FOLDERS.flatMap((folder) =>
  fs
    .readdirSync(path.join(CORPUS, folder))
    .sort()
    .map((name) => `${folder}/${name}`),
);
const expected = JSON.parse(fs.readFileSync(path.join(CORPUS, 'expected.json'), 'utf8')) as ExpectedJson;

function expectedFor(file: string): ExpectedFile {
  const entry = expected.files[file];
  if (!entry) throw new Error(`expected.json has no entry for ${file}`);
  return entry;
}

/**
 * exiftool's date (`2021:04:11 15:47:53`, optionally with `+02:00`, `Z` or `+02:00 DST` inline) plus
 * OffsetTimeOriginal, as the stored UTC instant and offset. A date without any offset is a wall-clock
 * time in an unknown zone, stored as if it were UTC (packages/media/src/exif-date.ts); QuickTime
 * dates are UTC by their spec.
 */
function expectedInstant(date: string, offset: string | null): { instant: string; offset: string | null } {
  const match = /^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})?/.exec(date);
  if (!match) throw new Error(`unexpected date form in expected.json: ${date}`);
  const [, y, mo, d, h, mi, s, inline] = match;
  const zone = inline === 'Z' ? '+00:00' : (inline ?? offset);
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (!zone) return { instant: new Date(wall).toISOString(), offset: null };
  const sign = zone.startsWith('-') ? -1 : 1;
  const minutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  return { instant: new Date(wall - minutes * 60_000).toISOString(), offset: inline === 'Z' ? null : zone };
}

let h: Harness;
let rows: Map<string, ImageExifRow>;
let scan: ScanSummary;
let scanMs: number;

beforeAll(
  async () => {
    let preparedAt = 0;
    h = await startHarness({
      prepare(root) {
        for (const file of FILES) copyIn(root, file, file);
        preparedAt = performance.now();
      },
      // One full scan only: the next tick is an hour away.
      env: { WATCH_QUICK_INTERVAL_SECONDS: '3600' },
    });
    scan = await waitFor(
      'the first full scan',
      () => h.watcher.lastScans().find((s) => s.kind === 'full'),
      SCAN_LIMIT_MS,
    );
    scanMs = performance.now() - preparedAt;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      h.watcher.whenIdle(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`previews not done within ${IDLE_LIMIT_MS} ms`)),
          IDLE_LIMIT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    const all = await h.database.db.selectFrom('image_exif').selectAll().execute();
    rows = new Map(all.map((r) => [r.rel_path, r]));
  },
  SCAN_LIMIT_MS + IDLE_LIMIT_MS + 10_000,
);

afterAll(async () => {
  await h?.close();
});

describe('expected.json', () => {
  it('has an entry for every corpus file and the rules this test relies on', () => {
    expect(FILES.length).toBeGreaterThan(90);
    for (const file of FILES) expect(expected.files[file], file).toBeDefined();
    expect(expected.generator.tool).toMatch(/^ExifTool/);
    expect(expected.fieldRules['ImageWidth/ImageHeight']).toMatch(/before Orientation is applied/);
    expect(expected.fieldRules.DateTimeOriginal).toMatch(/all-zero dates are treated as absent/);
    expect(expected.fieldRules.values).toMatch(/signed decimal degrees/);
    for (const file of Object.keys(TOLERATED)) expect(FILES, file).toContain(file);
  });
});

describe('one full scan of the whole corpus', () => {
  it('completes within the time limit with a row for every file, broken ones included', () => {
    expect(scanMs).toBeLessThan(SCAN_LIMIT_MS);
    expect(scan).toMatchObject({ completed: true, seen: FILES.length, new: FILES.length, walkErrors: 0 });
    expect([...rows.keys()].sort()).toEqual([...FILES].sort());
  });

  it('gives every file a thumbnail on disk or the .unsupported sentinel, and a preview to every thumbnail', () => {
    for (const file of FILES) {
      const row = rows.get(file)!;
      const where = `${file}: ${row.ingest_error}`;
      expect(row.content_hash, where).toMatch(/^xxh3-128:[0-9a-f]{32}$/);
      const paths = thumbPaths(h.thumbnailsDir, row.content_hash!);
      expect(['ready', 'unsupported'], where).toContain(row.thumb_status);
      if (row.thumb_status === 'ready') {
        expect(fs.existsSync(paths.thumb), where).toBe(true);
        expect(row.preview_status, where).toBe('ready');
        expect(fs.existsSync(paths.preview), where).toBe(true);
      } else {
        expect(fs.existsSync(paths.unsupported), where).toBe(true);
        expect(row.ingest_error, where).toBeTruthy();
      }
    }
  });

  it('thumbnails every photo, RAW and video of the corpus (only broken files may be unsupported)', () => {
    const unsupported = FILES.filter((f) => rows.get(f)?.thumb_status !== 'ready');
    expect(unsupported.filter((f) => !f.startsWith('broken/'))).toEqual([]);
  });
});

describe('stored metadata vs exiftool (expected.json)', () => {
  it.each(FILES)('%s', (file) => {
    const want = expectedFor(file);
    const row = rows.get(file);
    expect(row, file).toBeDefined();
    if (!row) return;
    const tolerated = TOLERATED[file] ?? {};
    const compare = (field: Field, got: unknown, value: unknown) => {
      const tolerance = tolerated[field];
      if (!tolerance) expect({ field, got }).toEqual({ field, got: value });
      else if ('stored' in tolerance) expect({ field, got }).toEqual({ field, got: tolerance.stored });
    };

    compare('make', row.camera_make, want.Make);
    compare('model', row.camera_model, want.Model);
    compare('dimensions', [row.width, row.height], [want.ImageWidth, want.ImageHeight]);
    // A video stores its rotation as the matching EXIF orientation (90 degrees clockwise = 6); one
    // nothing can read (exiftool fails on it too) has none.
    const videoOrientation = want.exiftoolError === null ? orientationFromRotation(want.Rotation) : null;
    compare('orientation', row.orientation, row.media_type === 'video' ? videoOrientation : want.Orientation);

    if (!tolerated.gps) {
      expect({ file, lat: row.gps_lat === null, lon: row.gps_lon === null }).toEqual({
        file,
        lat: want.GPSLatitude === null,
        lon: want.GPSLongitude === null,
      });
      if (want.GPSLatitude !== null && want.GPSLongitude !== null) {
        expect(Math.abs((row.gps_lat ?? Number.NaN) - want.GPSLatitude)).toBeLessThan(1e-5);
        expect(Math.abs((row.gps_lon ?? Number.NaN) - want.GPSLongitude)).toBeLessThan(1e-5);
      }
    }

    if (tolerated.date) {
      if ('stored' in tolerated.date) expect(row.date_taken_source).toBe(tolerated.date.stored);
    } else {
      if (want.DateTimeOriginal === null) {
        // No date in the file: its mtime, flagged as such.
        const mtimeMs = storedMtimeMs(fs.statSync(path.join(h.root, file)).mtimeMs);
        expect({
          date: row.date_taken,
          offset: row.date_taken_offset,
          source: row.date_taken_source,
        }).toEqual({ date: new Date(mtimeMs).toISOString(), offset: null, source: 'mtime' });
      } else {
        const reference = expectedInstant(want.DateTimeOriginal, want.OffsetTimeOriginal);
        expect({
          // Sub-seconds (SubSecTimeOriginal) are kept by us and not by the reference string.
          date: row.date_taken?.replace(/\.\d{3}Z$/, '.000Z'),
          offset: row.date_taken_offset,
          source: row.date_taken_source,
        }).toEqual({
          date: reference.instant,
          offset: reference.offset,
          source: row.media_type === 'video' ? 'video' : 'exif',
        });
      }
    }
  });
});
