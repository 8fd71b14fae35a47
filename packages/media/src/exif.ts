import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import sharp from 'sharp';
import { parseCameraDate } from './exif-date.ts';
import { exifrParse } from './exifr-reader.ts';
import { type ExiftoolProcess, sharedExiftool } from './exiftool-process.ts';
import { readHeifImageInfo } from './heif-boxes.ts';
import { errorMessage } from './media-error.ts';
import { detectSourceKind, type SourceKind } from './source-kind.ts';
import { withTimeout } from './timeout.ts';

/** The photo facts stored in `image_exif` (camelCase of its columns). Absent values are null. */
export interface PhotoMetadata {
  cameraMake: string | null;
  cameraModel: string | null;
  lensModel: string | null;
  /** Stored pixel size, before the orientation is applied (for RAW: the sensor size as exiftool reports it). */
  width: number | null;
  height: number | null;
  /** EXIF orientation, 1-8. */
  orientation: number | null;
  /** Signed decimal degrees (south and west negative). */
  gpsLat: number | null;
  gpsLon: number | null;
  /** Metres, negative below sea level. */
  gpsAlt: number | null;
  focalLength: number | null;
  aperture: number | null;
  /** Seconds. */
  exposureTime: number | null;
  iso: number | null;
  /** ISO-8601 UTC instant. A camera date without an offset is read as UTC wall time. */
  dateTaken: string;
  /** `+02:00`, or null when the file gave no offset (always null for mtime). */
  dateTakenOffset: string | null;
  /** `exif` when a camera date was found, else `mtime` (dateTaken is then the file's mtime). */
  dateTakenSource: 'exif' | 'mtime';
  /** Which readers produced the values. */
  readers: Array<'exifr' | 'sharp' | 'exiftool' | 'heif-boxes'>;
  /** Set when the file could not be read (every reader failed, a time limit was hit, not a regular file). */
  error?: string;
}

export interface ReadPhotoMetadataOptions {
  /** The file's mtime in ms: the date taken when the file has none. */
  mtimeMs: number;
  /** Decode path, when the caller already knows it; detected by magic bytes and extension otherwise. */
  kind?: SourceKind;
  /**
   * exiftool fallback: used for RAW files (exifr cannot read CR3/RAF/CRW and misses RAW sensor sizes)
   * and for files where exifr found nothing (WebP, GIF, EXIF after PNG image data...). Default: the
   * shared long-lived process; `false` disables it. Absent exiftool is not an error.
   */
  exiftool?: ExiftoolProcess | false;
  /** Limit for each reader, ms; default 15 000. */
  timeoutMs?: number;
}

/** What one reader found; merged field by field. */
type Facts = Partial<
  Omit<PhotoMetadata, 'dateTaken' | 'dateTakenOffset' | 'dateTakenSource' | 'readers' | 'error'>
> & {
  date?: { instant: string; offset: string | null } | null;
};

type Tags = Record<string, unknown>;

const EXIFR_OPTIONS = {
  tiff: true,
  ifd0: {},
  exif: true,
  gps: true,
  xmp: true,
  ifd1: false,
  interop: false,
  makerNote: false,
  userComment: false,
  iptc: false,
  icc: false,
  jfif: false,
  ihdr: false,
  translateKeys: true,
  translateValues: false,
  reviveValues: false,
  sanitize: true,
  mergeOutput: false,
} as const;

/** Tags asked from exiftool (`-json -n -a -G0`: every instance, keyed `Group:Tag`). */
const EXIFTOOL_TAGS = [
  '-Make',
  '-Model',
  '-LensModel',
  '-Lens',
  '-ImageSize',
  '-Orientation',
  '-GPSLatitude',
  '-GPSLongitude',
  '-GPSAltitude',
  '-DateTimeOriginal',
  '-CreateDate',
  '-CreationDate',
  '-OffsetTimeOriginal',
  '-OffsetTimeDigitized',
  '-SubSecTimeOriginal',
  '-FocalLength',
  '-FNumber',
  '-Aperture',
  '-ExposureTime',
  '-ShutterSpeed',
  '-ISO',
];

/** Text tag: cut at the first NUL (as exiftool does), trimmed; empty is null. */
function text(value: unknown): string | null {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return null;
  const cut = value.split('\0')[0]?.trim() ?? '';
  return cut === '' ? null : cut;
}

/** Number from a number, a numeric string or a rational `a/b`; the first of an array. */
function num(value: unknown): number | null {
  if (Array.isArray(value)) return num(value[0]);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string') return null;
  const rational = /^\s*(-?[\d.]+)\s*\/\s*([\d.]+)\s*$/.exec(value);
  if (rational) {
    const result = Number(rational[1]) / Number(rational[2]);
    return Number.isFinite(result) ? result : null;
  }
  const parsed = Number(value.trim());
  return value.trim() !== '' && Number.isFinite(parsed) ? parsed : null;
}

function positive(value: unknown): number | null {
  const n = num(value);
  return n !== null && n > 0 ? n : null;
}

function positiveInt(value: unknown): number | null {
  const n = positive(value);
  return n !== null ? Math.round(n) : null;
}

function orientationOf(value: unknown): number | null {
  const n = num(value);
  return n !== null && Number.isInteger(n) && n >= 1 && n <= 8 ? n : null;
}

function tags(value: unknown): Tags {
  return value !== null && typeof value === 'object' && !(value instanceof Uint8Array) ? (value as Tags) : {};
}

function firstDate(candidates: Array<[unknown, unknown?, unknown?]>): Facts['date'] {
  for (const [value, offset, subSeconds] of candidates) {
    const parsed = parseCameraDate(value, offset, subSeconds);
    if (parsed) return parsed;
  }
  return null;
}

function gpsFacts(lat: unknown, lon: unknown): Pick<Facts, 'gpsLat' | 'gpsLon'> {
  const latitude = num(lat);
  const longitude = num(lon);
  if (latitude === null || longitude === null || Math.abs(latitude) > 90 || Math.abs(longitude) > 180)
    return {};
  return { gpsLat: latitude, gpsLon: longitude };
}

/** Facts from exifr's per-segment output (mergeOutput: false; XMP namespaces are top-level keys). */
function factsFromExifr(output: unknown): Facts {
  const all = tags(output);
  const ifd0 = tags(all.ifd0);
  const exif = tags(all.exif);
  const gps = tags(all.gps);
  const xmp = tags(all.xmp);
  const aux = tags(all.aux);
  const exifEX = tags(all.exifEX);
  const photoshop = tags(all.photoshop);

  const altitude = num(gps.GPSAltitude);
  const altitudeRefRaw = gps.GPSAltitudeRef;
  const altitudeRef = altitudeRefRaw instanceof Uint8Array ? altitudeRefRaw[0] : num(altitudeRefRaw);

  return {
    cameraMake: text(ifd0.Make),
    cameraModel: text(ifd0.Model),
    lensModel: text(exif.LensModel) ?? text(exifEX.LensModel) ?? text(aux.Lens) ?? text(aux.LensModel),
    width: positiveInt(exif.ExifImageWidth) ?? positiveInt(exif.PixelXDimension),
    height: positiveInt(exif.ExifImageHeight) ?? positiveInt(exif.PixelYDimension),
    orientation: orientationOf(ifd0.Orientation),
    ...gpsFacts(gps.latitude, gps.longitude),
    gpsAlt: altitude === null ? null : altitudeRef === 1 ? -Math.abs(altitude) : altitude,
    focalLength: positive(exif.FocalLength),
    aperture: positive(exif.FNumber),
    exposureTime: positive(exif.ExposureTime),
    iso:
      positiveInt(exif.ISO) ?? positiveInt(exif.ISOSpeedRatings) ?? positiveInt(exif.PhotographicSensitivity),
    date: firstDate([
      [exif.DateTimeOriginal, exif.OffsetTimeOriginal, exif.SubSecTimeOriginal],
      [exif.CreateDate, exif.OffsetTimeDigitized, exif.SubSecTimeDigitized],
      [xmp.DateTimeOriginal],
      [xmp.CreateDate],
      [photoshop.DateCreated],
    ]),
  };
}

/**
 * The first present value among `Group:Tag` keys, in the order given. With `-n`, maker-note values
 * can be raw codes (Pentax ISO 6 means ISO 100), so EXIF, XMP and Composite come before MakerNotes.
 */
function pick(record: Tags, keys: string[]): unknown {
  for (const key of keys) {
    const value = record[key];
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
}

/** Facts from `exiftool -json -n -a -G0` output for one file. */
function factsFromExiftool(record: Tags): Facts {
  const sizeValue = pick(record, ['Composite:ImageSize']);
  const size = typeof sizeValue === 'string' ? sizeValue.split(/[ x]/) : [];
  const xmpLens = pick(record, ['XMP:Lens']);
  return {
    cameraMake: text(pick(record, ['EXIF:Make', 'MakerNotes:Make', 'XMP:Make', 'QuickTime:Make'])),
    cameraModel: text(pick(record, ['EXIF:Model', 'MakerNotes:Model', 'XMP:Model', 'QuickTime:Model'])),
    lensModel:
      text(pick(record, ['EXIF:LensModel', 'XMP:LensModel', 'MakerNotes:LensModel'])) ??
      (typeof xmpLens === 'string' ? text(xmpLens) : null),
    width: positiveInt(size[0]),
    height: positiveInt(size[1]),
    orientation: orientationOf(
      pick(record, ['EXIF:Orientation', 'XMP:Orientation', 'MakerNotes:Orientation']),
    ),
    ...gpsFacts(pick(record, ['Composite:GPSLatitude']), pick(record, ['Composite:GPSLongitude'])),
    gpsAlt: num(pick(record, ['Composite:GPSAltitude'])),
    focalLength: positive(pick(record, ['EXIF:FocalLength', 'XMP:FocalLength', 'MakerNotes:FocalLength'])),
    aperture: positive(
      pick(record, ['EXIF:FNumber', 'Composite:Aperture', 'XMP:FNumber', 'MakerNotes:FNumber']),
    ),
    exposureTime: positive(
      pick(record, [
        'EXIF:ExposureTime',
        'Composite:ShutterSpeed',
        'XMP:ExposureTime',
        'MakerNotes:ExposureTime',
      ]),
    ),
    iso: positiveInt(pick(record, ['EXIF:ISO', 'Composite:ISO', 'XMP:ISO', 'MakerNotes:ISO'])),
    date: firstDate([
      [record['EXIF:DateTimeOriginal'], record['EXIF:OffsetTimeOriginal'], record['EXIF:SubSecTimeOriginal']],
      [record['EXIF:CreateDate'], record['EXIF:OffsetTimeDigitized']],
      [record['XMP:DateTimeOriginal']],
      [record['XMP:CreateDate']],
      [record['MakerNotes:DateTimeOriginal']],
      [record['QuickTime:CreationDate']],
      [record['QuickTime:CreateDate']],
    ]),
  };
}

/** True when exifr found nothing a user would miss: then exiftool is asked. */
function isEmpty(facts: Facts): boolean {
  return (
    facts.cameraMake == null &&
    facts.cameraModel == null &&
    facts.date == null &&
    facts.gpsLat == null &&
    facts.orientation == null &&
    facts.exposureTime == null
  );
}

/** Field by field: the first source that has a value wins. */
function merge(sources: Facts[]): Facts {
  const result: Facts = {};
  for (const source of sources) {
    for (const [key, value] of Object.entries(source) as Array<[keyof Facts, Facts[keyof Facts]]>) {
      if (value !== null && value !== undefined && (result[key] === null || result[key] === undefined)) {
        (result as Record<string, unknown>)[key] = value;
      }
    }
  }
  // GPS latitude and longitude come as a pair from one source.
  if ((result.gpsLat == null) !== (result.gpsLon == null)) {
    result.gpsLat = null;
    result.gpsLon = null;
  }
  return result;
}

async function readWithExiftool(
  exiftool: ExiftoolProcess,
  absPath: string,
  timeoutMs: number,
): Promise<{ facts: Facts; error?: string }> {
  const { stdout, stderr } = await exiftool.execute(['-json', '-n', '-a', '-G0', ...EXIFTOOL_TAGS, absPath], {
    timeoutMs,
  });
  const text = stdout.toString('utf8').trim();
  if (text === '') {
    const message = stderr.split('\n').find((line) => line.startsWith('Error')) ?? 'no output';
    return { facts: {}, error: `exiftool: ${message}` };
  }
  const parsed: unknown = JSON.parse(text);
  const record = Array.isArray(parsed) ? tags(parsed[0]) : {};
  const fileError = record['ExifTool:Error'] ?? record.Error;
  const error = typeof fileError === 'string' ? `exiftool: ${fileError}` : undefined;
  return error ? { facts: factsFromExiftool(record), error } : { facts: factsFromExiftool(record) };
}

/**
 * Reads the photo facts of one file. exifr reads only the head of the file; sharp reads the image
 * header for the true pixel size (EXIF sizes are often stale after an edit); HEIF sizes come from the
 * container (sharp reports them after the HEIF rotation); exiftool is the fallback described on
 * `ReadPhotoMetadataOptions.exiftool`. Never throws: failures end up in `error`.
 */
export async function readPhotoMetadata(
  absPath: string,
  options: ReadPhotoMetadataOptions,
): Promise<PhotoMetadata> {
  const path = isAbsolute(absPath) ? absPath : resolve(absPath);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const readers: PhotoMetadata['readers'] = [];
  const errors: string[] = [];
  const sources: Facts[] = [];
  let readable = false;

  try {
    const info = await withTimeout(stat(path), timeoutMs, 'stat', path);
    if (!info.isFile()) throw new Error('not a regular file');
    readable = true;
  } catch (error) {
    errors.push(errorMessage(error));
  }

  if (readable) {
    let kind = options.kind;
    if (kind === undefined) {
      kind = await withTimeout(detectSourceKind(path), timeoutMs, 'detect type', path).catch(
        () => 'unknown' as const,
      );
    }

    let exifrFacts: Facts = {};
    let exifrFailed = false;
    try {
      const output = await withTimeout(exifrParse(path, EXIFR_OPTIONS), timeoutMs, 'exifr', path);
      exifrFacts = factsFromExifr(output);
      if (!isEmpty(exifrFacts)) readers.push('exifr');
    } catch (error) {
      exifrFailed = true;
      errors.push(`exifr: ${errorMessage(error)}`);
    }

    // True pixel size from the image header (not for RAW: sharp would see the small IFD0 image).
    // HEIF: the container's stored size; sharp (libheif) reports it after the irot rotation.
    const headerFacts: Facts = {};
    if (kind === 'heif') {
      try {
        const heif = await withTimeout(readHeifImageInfo(path), timeoutMs, 'heif boxes', path);
        if (heif) {
          headerFacts.width = heif.width;
          headerFacts.height = heif.height;
          readers.push('heif-boxes');
        }
      } catch (error) {
        errors.push(`heif: ${errorMessage(error)}`);
      }
    }
    if (headerFacts.width == null && kind !== 'raw' && kind !== 'video') {
      try {
        const meta = await withTimeout(
          sharp(path, { failOn: 'none' }).metadata(),
          timeoutMs,
          'sharp metadata',
          path,
        );
        headerFacts.width = positiveInt(meta.width);
        headerFacts.height = positiveInt(meta.height);
        if (headerFacts.width !== null) readers.push('sharp');
      } catch (error) {
        errors.push(`sharp: ${errorMessage(error)}`);
      }
    }

    let exiftoolFacts: Facts = {};
    const exiftool = options.exiftool === false ? undefined : (options.exiftool ?? sharedExiftool());
    if (exiftool && (kind === 'raw' || exifrFailed || isEmpty(exifrFacts))) {
      try {
        const result = await readWithExiftool(exiftool, path, timeoutMs);
        exiftoolFacts = result.facts;
        if (!isEmpty(exiftoolFacts) || exiftoolFacts.width != null) readers.push('exiftool');
        if (result.error) errors.push(result.error);
      } catch (error) {
        if (!(error instanceof Error && error.name === 'ExiftoolUnavailableError')) {
          errors.push(`exiftool: ${errorMessage(error)}`);
        }
      }
    }

    if (kind === 'raw') sources.push(exiftoolFacts, exifrFacts);
    else sources.push(headerFacts, exifrFacts, exiftoolFacts);
  }

  const facts = merge(sources);
  const date = facts.date ?? null;
  const metadata: PhotoMetadata = {
    cameraMake: facts.cameraMake ?? null,
    cameraModel: facts.cameraModel ?? null,
    lensModel: facts.lensModel ?? null,
    width: facts.width ?? null,
    height: facts.height ?? null,
    orientation: facts.orientation ?? null,
    gpsLat: facts.gpsLat ?? null,
    gpsLon: facts.gpsLon ?? null,
    gpsAlt: facts.gpsAlt ?? null,
    focalLength: facts.focalLength ?? null,
    aperture: facts.aperture ?? null,
    exposureTime: facts.exposureTime ?? null,
    iso: facts.iso ?? null,
    dateTaken: date ? date.instant : new Date(options.mtimeMs).toISOString(),
    dateTakenOffset: date ? date.offset : null,
    dateTakenSource: date ? 'exif' : 'mtime',
    readers,
  };
  const timedOut = errors.some((message) => message.includes('timed out'));
  if (errors.length > 0 && (readers.length === 0 || timedOut))
    metadata.error = `${path}: ${errors.join('; ')}`;
  return metadata;
}
