import { statSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ExiftoolProcess, type PhotoMetadata, readPhotoMetadata } from '../src/index.ts';
import { corpusFiles, corpusPath, expected, expectedFor, expectedInstant } from './corpus.ts';

const exiftool = new ExiftoolProcess();
afterAll(() => exiftool.close());

/**
 * Differences from the exiftool reference that are accepted, each with its reason. Key: corpus path,
 * value: the fields not compared and why. Everything else is compared for every file.
 */
const TOLERATED: Record<string, Partial<Record<keyof PhotoMetadata | 'date', string>>> = {
  'photo/exif-samples__Canon_DIGITAL_IXUS_400.jpg': {
    iso: 'no EXIF ISO tag; exiftool derives ISO 50 from Canon maker notes (Composite:ISO), which exifr does not decode',
  },
  'photo/mei__Casio_EX-S1.jpg': {
    iso: 'the file says ISO 0, which means unknown: we store null',
  },
  'photo/exif-samples__tests_87_OSError.jpg': {
    gpsAlt:
      'GPSAltitude without GPSAltitudeRef: exiftool leaves Composite:GPSAltitude empty, we read 42.123 m above sea level (the EXIF default ref is 0)',
  },
  'photo/mei__Olympus_PEN_E-P3.jpg': {
    lensModel: 'the lens is only in Olympus maker notes (MakerNotes:LensModel), which exifr does not decode',
  },
};

function round(value: number | null, digits: number): number | null {
  return value === null ? null : Number(value.toFixed(digits));
}

const photoAndRaw = [...corpusFiles('photo'), ...corpusFiles('raw')];

describe('expected.json', () => {
  it('describes the fields this test compares', () => {
    expect(expected.fieldRules['ImageWidth/ImageHeight']).toMatch(/before Orientation/);
    expect(expected.fieldRules.DateTimeOriginal).toMatch(/all-zero dates are treated as absent/);
    for (const file of photoAndRaw) expect(expectedFor(file)).toBeDefined();
  });
});

describe('readPhotoMetadata on the corpus (vs exiftool reference values)', () => {
  it.each(photoAndRaw)('%s', async (file) => {
    const want = expectedFor(file);
    const path = corpusPath(file);
    const mtimeMs = statSync(path).mtimeMs;
    const got = await readPhotoMetadata(path, { mtimeMs, exiftool });
    const tolerated = TOLERATED[file] ?? {};

    expect(got.error).toBeUndefined();
    const compare = <K extends keyof PhotoMetadata>(field: K, value: unknown) => {
      if (tolerated[field]) return;
      expect({ field, value: got[field] }).toEqual({ field, value });
    };
    compare('cameraMake', want.Make);
    compare('cameraModel', want.Model);
    compare('lensModel', want.LensModel);
    compare('width', want.ImageWidth);
    compare('height', want.ImageHeight);
    compare('orientation', want.Orientation);
    compare('iso', want.ISO);
    if (!tolerated.gpsLat) {
      expect(got.gpsLat === null).toBe(want.GPSLatitude === null);
      expect(got.gpsLon === null).toBe(want.GPSLongitude === null);
      if (want.GPSLatitude !== null && want.GPSLongitude !== null) {
        expect(Math.abs((got.gpsLat ?? 0) - want.GPSLatitude)).toBeLessThan(1e-5);
        expect(Math.abs((got.gpsLon ?? 0) - want.GPSLongitude)).toBeLessThan(1e-5);
      }
    }
    if (!tolerated.gpsAlt)
      compare('gpsAlt', want.GPSAltitude === null ? null : expect.closeTo(want.GPSAltitude, 3));
    compare('focalLength', want.FocalLength === null ? null : expect.closeTo(want.FocalLength, 3));
    compare('aperture', want.FNumber === null ? null : expect.closeTo(want.FNumber, 3));
    compare('exposureTime', want.ExposureTime === null ? null : expect.closeTo(want.ExposureTime, 6));

    if (!tolerated.date) {
      if (want.DateTimeOriginal === null) {
        expect(got.dateTakenSource).toBe('mtime');
        expect(got.dateTaken).toBe(new Date(mtimeMs).toISOString());
        expect(got.dateTakenOffset).toBeNull();
      } else {
        const reference = expectedInstant(want.DateTimeOriginal, want.OffsetTimeOriginal);
        expect(got.dateTakenSource).toBe('exif');
        // Sub-seconds (SubSecTimeOriginal) are kept by us and not by the reference string.
        expect(got.dateTaken.replace(/\.\d{3}Z$/, '.000Z')).toBe(reference.instant);
        expect(got.dateTakenOffset).toBe(reference.offset);
      }
    }
    expect(round(got.gpsLat, 0)).toBe(round(want.GPSLatitude, 0));
  });
});

describe('readPhotoMetadata on damaged and odd files', () => {
  it.each(corpusFiles('broken'))('%s resolves without throwing', async (file) => {
    const path = corpusPath(file);
    const mtimeMs = statSync(path).mtimeMs;
    const got = await readPhotoMetadata(path, { mtimeMs, exiftool, timeoutMs: 10_000 });
    expect(['exif', 'mtime']).toContain(got.dateTakenSource);
    if (got.error !== undefined) expect(got.error).toContain(path);
  });

  it('flags a zero-byte file with an error naming it, and falls back to mtime', async () => {
    const path = corpusPath('broken/photoprism__zero-bytes_2018-04-12_19_24_49.mov');
    const got = await readPhotoMetadata(path, { mtimeMs: 1_523_560_000_000, exiftool });
    expect(got.error).toContain(path);
    expect(got).toMatchObject({
      dateTaken: new Date(1_523_560_000_000).toISOString(),
      dateTakenSource: 'mtime',
      dateTakenOffset: null,
    });
  });

  it('reports a missing file and a directory as errors instead of throwing', async () => {
    const missing = await readPhotoMetadata('/nonexistent/lumen/photo.jpg', { mtimeMs: 0, exiftool });
    expect(missing.error).toMatch(/\/nonexistent\/lumen\/photo\.jpg/);
    const folder = await readPhotoMetadata(corpusPath('photo'), { mtimeMs: 0, exiftool });
    expect(folder.error).toMatch(/not a regular file/);
  });

  it('works without exiftool: exifr and sharp alone, no error for a missing exiftool', async () => {
    const absent = new ExiftoolProcess({ command: 'exiftool-not-installed-lumen' });
    const jpeg = await readPhotoMetadata(corpusPath('photo/exiftool__Google.jpg'), {
      mtimeMs: 0,
      exiftool: absent,
    });
    expect(jpeg).toMatchObject({
      cameraMake: 'Google',
      cameraModel: 'Pixel 8 Pro',
      dateTakenOffset: '+02:00',
      readers: ['exifr', 'sharp'],
    });
    // CR3 is a format exifr cannot read: only the mtime is left, and that is not an error.
    const cr3 = await readPhotoMetadata(corpusPath('raw/nom-exif__canon-r6.cr3'), {
      mtimeMs: 0,
      exiftool: absent,
    });
    expect(cr3).toMatchObject({ cameraMake: null, dateTakenSource: 'mtime' });
    expect(cr3.error).toBeDefined();
    await absent.close();
  });

  it('reads the true pixel size when EXIF holds a stale one', async () => {
    // EXIF says 4032x3024 (the camera original); the file is a 2566x3313 edit (HEIF ispe).
    const heic = await readPhotoMetadata(corpusPath('photo/exif-samples__heic_IMG_5195.HEIC'), {
      mtimeMs: 0,
      exiftool: false,
    });
    expect([heic.width, heic.height]).toEqual([2566, 3313]);
    // EXIF says 0x0.
    const jpeg = await readPhotoMetadata(corpusPath('photo/exif-samples__tests_32-lens_data.jpeg'), {
      mtimeMs: 0,
      exiftool: false,
    });
    expect([jpeg.width, jpeg.height]).toEqual([200, 133]);
  });
});
