import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
// The real watcher ingests the library, so the rows are exactly what ingest produces. It is not a
// dependency of the api package, hence the relative import of its source.
import { start as startWatcher, type WatcherHandle } from '../../watcher/src/index.ts';
import { startTestApi, type TestApi } from './test-api.ts';

export const CORPUS = path.resolve(import.meta.dirname, '../../../fixtures/corpus');

/** One entry of corpus/expected.json (exiftool's reading of the file), the fields the tests use. */
export interface ExpectedFile {
  Make: string | null;
  Model: string | null;
  DateTimeOriginal: string | null;
  OffsetTimeOriginal: string | null;
  GPSLatitude: number | null;
  GPSLongitude: number | null;
  ImageWidth: number | null;
  ImageHeight: number | null;
  LensModel: string | null;
  MIMEType: string | null;
}

/** Library -> path in the library -> corpus file it is a copy of. */
export const LIBRARY_FILES: Record<'main' | 'archive', Record<string, string>> = {
  main: {
    '2008/canon-40d.jpg': 'photo/exif-samples__Canon_40D.jpg',
    '2008/nikon-d70.jpg': 'photo/exif-samples__Nikon_D70.jpg',
    '2008/pentax.jpg': 'photo/exif-samples__Pentax_K10D.jpg',
    '2008/panasonic.jpg': 'photo/exif-samples__Panasonic_DMC-FZ30.jpg',
    '2008/tuscany/dscn0010.jpg': 'photo/exif-samples__gps_DSCN0010.jpg',
    '2008/tuscany/florence.jpg': 'photo/exif-samples__tests_87_OSError.jpg',
    'travel/madrid/iphone-hdr.jpg': 'photo/exif-samples__hdr_iphone_hdr_YES.jpg',
    'travel/madrid/google.jpg': 'photo/exiftool__Google.jpg',
    'travel/rome.jpg': 'photo/mei__Apple_iPhone_4.jpg',
    'travel/nyc-gopro.jpg': 'photo/exiftool__GoPro.jpg',
    'travel/dc.jpg': 'photo/exifr__iptc-agency-photographer-example.jpg',
    'travel/alps.jpg': 'photo/exifr__issue-exifr-13.jpg',
    'travel/frankfurt.JPG': 'photo/photoprism__IMG_E4120.JPG',
    'travel/germany-sony.jpg': 'photo/mei__Sony_DSC-HX5V.jpg',
    'kodak.jpg': 'photo/exif-samples__Kodak_CX7530.jpg',
    'ixus.jpg': 'photo/exif-samples__Canon_DIGITAL_IXUS_400.jpg',
    'noexif.jpg': 'photo/exifr__noexif.jpg',
    'canon-7d.jpg': 'photo/mei__Canon_EOS_7D.jpg',
    'htc.webp': 'photo/mei__HTC_Desire.webp',
    'clips/sample.mp4': 'video/mei__sample_mpeg4.mp4',
  },
  archive: {
    // The same content as main's 2008/canon-40d.jpg, at the same path and at another.
    '2008/canon-40d.jpg': 'photo/exif-samples__Canon_40D.jpg',
    'canon-40d-copy.jpg': 'photo/exif-samples__Canon_40D.jpg',
    // Another file at a path main uses too.
    'kodak.jpg': 'photo/exif-samples__Olympus_C8080WZ.jpg',
  },
};

/** EXCLUDED_DIRS of the fixture: left out of memories (scans still ingest it). */
export const EXCLUDED_DIR = 'private';

/** Make of the files the fixture makes with sharp (memories); no corpus file has it. */
export const MEMORY_CAMERA = 'MemoryCam';

/** A photo made for the memories tests, with its EXIF date (wall clock, no offset). */
export interface MadePhoto {
  library: 'main';
  path: string;
  /** `YYYY:MM:DD HH:MM:SS` as written into EXIF DateTimeOriginal. */
  exifDate: string;
}

export interface PhotoLibrary {
  t: TestApi;
  watcher: WatcherHandle;
  /** Every library's root by name. */
  roots: Record<'main' | 'archive', string>;
  expected: Record<string, ExpectedFile>;
  /** Photos written with sharp (memories). */
  made: MadePhoto[];
  auth: Record<string, string>;
  /** GET with the token; the JSON body (status checked against `status`). */
  getJson<T = unknown>(pathAndQuery: string, status?: number, headers?: Record<string, string>): Promise<T>;
  /** A JSON request with the token. */
  send(
    method: string,
    pathAndQuery: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
  close(): Promise<void>;
}

const mediaPackage = fileURLToPath(new URL('../../../packages/media/package.json', import.meta.url));
interface SharpLike {
  jpeg(): SharpLike;
  withExif(exif: Record<string, Record<string, string>>): SharpLike;
  toFile(file: string): Promise<unknown>;
}
const sharp = createRequire(mediaPackage)('sharp') as (options: {
  create: { width: number; height: number; channels: 3; background: { r: number; g: number; b: number } };
}) => SharpLike;

/** `YYYY:MM:DD 12:00:00` of today (UTC) moved to `year` and shifted by `days`. */
export function exifDateNear(now: Date, year: number, days: number): string {
  const date = new Date(Date.UTC(year, now.getUTCMonth(), now.getUTCDate(), 12, 0, 0) + days * 86_400_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getUTCFullYear()}:${pad(date.getUTCMonth() + 1)}:${pad(date.getUTCDate())} 12:00:00`;
}

/**
 * Photos for the memories tests, relative to today: the same date 4 and 8 years ago, two days
 * later 4 years ago (inside the week, outside the day), 45 days away (outside any span), and one
 * with today's date in an excluded folder.
 */
export function memoryPhotos(now: Date): MadePhoto[] {
  const year = now.getUTCFullYear();
  return [
    { library: 'main', path: 'memories/same-day-4y.jpg', exifDate: exifDateNear(now, year - 4, 0) },
    { library: 'main', path: 'memories/same-day-8y.jpg', exifDate: exifDateNear(now, year - 8, 0) },
    { library: 'main', path: 'memories/two-days-later-4y.jpg', exifDate: exifDateNear(now, year - 4, 2) },
    { library: 'main', path: 'memories/far-4y.jpg', exifDate: exifDateNear(now, year - 4, 45) },
    { library: 'main', path: 'memories/private/excluded-4y.jpg', exifDate: exifDateNear(now, year - 4, 0) },
  ];
}

/**
 * The real api and the real watcher over one database (a SQLite file, or PostgreSQL under
 * `LUMEN_TEST_DATABASE=postgres`, see startTestApi) and the in-process bus, on two libraries
 * built from corpus files (plus a few photos made with sharp), ingested by one watcher tick. The
 * watcher keeps running with a long scan interval (uploads are ingested on request, not by scans).
 */
export async function startPhotoLibrary(env: Record<string, string> = {}): Promise<PhotoLibrary> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-photo-library-'));
  const roots = { main: path.join(base, 'main'), archive: path.join(base, 'archive') };
  for (const [library, files] of Object.entries(LIBRARY_FILES) as [
    'main' | 'archive',
    Record<string, string>,
  ][]) {
    for (const [rel, corpus] of Object.entries(files)) {
      const target = path.join(roots[library], rel);
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.copyFile(path.join(CORPUS, corpus), target);
      await fs.chmod(target, 0o644);
    }
  }
  const made = memoryPhotos(new Date());
  for (const [i, photo] of made.entries()) {
    const target = path.join(roots[photo.library], photo.path);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await sharp({
      create: { width: 64, height: 48, channels: 3, background: { r: 40 * i, g: 90, b: 200 - 30 * i } },
    })
      .jpeg()
      .withExif({ IFD0: { Make: MEMORY_CAMERA, Model: `M${i}` }, IFD2: { DateTimeOriginal: photo.exifDate } })
      .toFile(target);
  }

  const t = await startTestApi({
    DATA_DIR: path.join(base, 'data'),
    LIBRARIES: `main=${roots.main},archive=${roots.archive}`,
    EXCLUDED_DIRS: EXCLUDED_DIR,
    WATCH_QUICK_INTERVAL_SECONDS: '3600',
    WATCH_FULL_INTERVAL_SECONDS: '86400',
    INGEST_FILE_TIMEOUT_SECONDS: '60',
    ...env,
  });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const watcher = await startWatcher({
    config: t.config,
    database: t.database,
    bus: t.bus,
    logger,
    maintenance: [],
  });
  // The first tick runs at start: wait for it (and one more, which finds nothing new), then for previews.
  await watcher.tickNow();
  await watcher.whenIdle();

  const expected = (
    JSON.parse(await fs.readFile(path.join(CORPUS, 'expected.json'), 'utf8')) as {
      files: Record<string, ExpectedFile>;
    }
  ).files;
  await t.createUser('alice', 'alice password');
  const auth = { Authorization: `Bearer ${await t.tokenFor('alice', 'alice password')}` };

  const send = (
    method: string,
    pathAndQuery: string,
    body?: unknown,
    headers: Record<string, string> = auth,
  ) =>
    fetch(`${t.url}${pathAndQuery}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  return {
    t,
    watcher,
    roots,
    expected,
    made,
    auth,
    send,
    async getJson<T>(pathAndQuery: string, status = 200, headers: Record<string, string> = auth): Promise<T> {
      const res = await fetch(`${t.url}${pathAndQuery}`, { headers });
      const text = await res.text();
      if (res.status !== status)
        throw new Error(`GET ${pathAndQuery}: ${res.status} (wanted ${status}): ${text}`);
      return JSON.parse(text) as T;
    },
    async close() {
      await watcher.stop();
      await t.stop();
      await fs.rm(base, { recursive: true, force: true });
    },
  };
}

/** Great-circle distance in km (haversine on a sphere of the IUGG mean radius), written here independently of core. */
export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = (deg: number) => (deg * Math.PI) / 180;
  const a =
    Math.sin(rad(lat2 - lat1) / 2) ** 2 +
    Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(rad(lon2 - lon1) / 2) ** 2;
  return 2 * 6371.0088 * Math.atan2(Math.sqrt(a), Math.sqrt(1 - a));
}

/**
 * The instant exiftool's DateTimeOriginal stands for, as date_taken stores it: with an offset, the
 * wall time minus that offset; without one, the wall time read as UTC. Null without a date.
 */
export function expectedInstant(file: ExpectedFile): string | null {
  const match = /^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})/.exec(file.DateTimeOriginal ?? '');
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  let ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  const offset = /^([+-])(\d{2}):(\d{2})$/.exec(file.OffsetTimeOriginal ?? '');
  if (offset) ms -= (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) * 60_000;
  return new Date(ms).toISOString();
}

/** What the tests know about each file, from expected.json (or from how the fixture made it). */
export interface ModelPhoto {
  library: 'main' | 'archive';
  path: string;
  dir: string;
  fileName: string;
  make: string | null;
  model: string | null;
  lens: string | null;
  lat: number | null;
  lon: number | null;
  /** The instant date_taken should hold (whole seconds), or null when the date comes from the mtime. */
  date: string | null;
  /** The calendar date the photo was taken on where it was taken (YYYY-MM-DD; video: in UTC). */
  localDate: string | null;
  width: number | null;
  height: number | null;
  mediaType: 'photo' | 'video';
  /** Same value for copies of one file. */
  contentKey: string;
}

/** The model of every file of the fixture's libraries, computed without asking the server. */
export function libraryModel(lib: Pick<PhotoLibrary, 'expected' | 'made'>): ModelPhoto[] {
  const split = (p: string) => {
    const slash = p.lastIndexOf('/');
    return { dir: slash < 0 ? '' : p.slice(0, slash), fileName: p.slice(slash + 1) };
  };
  const model: ModelPhoto[] = [];
  for (const [library, files] of Object.entries(LIBRARY_FILES) as [
    'main' | 'archive',
    Record<string, string>,
  ][]) {
    for (const [rel, corpus] of Object.entries(files)) {
      const e = lib.expected[corpus];
      if (!e) throw new Error(`expected.json has no ${corpus}`);
      const isVideo = corpus.startsWith('video/');
      const date = expectedInstant(e);
      const wallDate = /^(\d{4}):(\d{2}):(\d{2})/.exec(e.DateTimeOriginal ?? '');
      model.push({
        library,
        path: rel,
        ...split(rel),
        make: e.Make,
        model: e.Model,
        lens: e.LensModel,
        lat: e.GPSLatitude,
        lon: e.GPSLongitude,
        date,
        localDate: isVideo
          ? (date?.slice(0, 10) ?? null)
          : wallDate
            ? `${wallDate[1]}-${wallDate[2]}-${wallDate[3]}`
            : null,
        width: e.ImageWidth,
        height: e.ImageHeight,
        mediaType: isVideo ? 'video' : 'photo',
        contentKey: corpus,
      });
    }
  }
  for (const [i, photo] of lib.made.entries()) {
    const [d, time] = photo.exifDate.split(' ');
    const day = d!.replaceAll(':', '-');
    model.push({
      library: photo.library,
      path: photo.path,
      ...split(photo.path),
      make: MEMORY_CAMERA,
      model: `M${i}`,
      lens: null,
      lat: null,
      lon: null,
      date: `${day}T${time}.000Z`,
      localDate: day,
      width: 64,
      height: 48,
      mediaType: 'photo',
      contentKey: photo.path,
    });
  }
  return model;
}
