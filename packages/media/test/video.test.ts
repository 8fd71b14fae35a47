import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeWithFfmpeg,
  extractVideoFrame,
  MediaError,
  MediaTimeoutError,
  parseIso6709,
  probeVideo,
  type VideoProbe,
} from '../src/index.ts';
import { corpusFiles, corpusPath, expectedFor, expectedInstant } from './corpus.ts';

const dir = mkdtempSync(join(tmpdir(), 'lumen-media-video-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Accepted differences from exiftool, with the reason. */
const TOLERATED: Record<string, Partial<Record<keyof VideoProbe, string>>> = {
  'video/mei__Sony_ILCE-7M3.mts': {
    durationSec:
      'exiftool computes M2TS:Duration from PCR timestamps (0.45 s); ffprobe reports the container span (0.54 s)',
    creationTime: 'the date is in H.264 SEI user data (H264:DateTimeOriginal), which ffprobe does not expose',
    make: 'H264:Make from SEI user data, not exposed by ffprobe',
    model: 'H264:Model from SEI user data, not exposed by ffprobe',
  },
};

describe('probeVideo on the corpus videos (vs exiftool reference values)', () => {
  it.each(corpusFiles('video'))('%s', async (file) => {
    const want = expectedFor(file);
    const tolerated = TOLERATED[file] ?? {};
    const got = await probeVideo(corpusPath(file));
    expect([got.width, got.height]).toEqual([want.ImageWidth, want.ImageHeight]);
    expect(got.rotation).toBe(want.Rotation ?? 0);
    expect(got.videoCodec).toEqual(expect.any(String));
    // Matroska/WebM: exiftool gives no Duration; ffprobe does (checked to be positive).
    if (want.Duration === null) expect(got.durationSec).toBeGreaterThan(0);
    else if (!tolerated.durationSec) expect(got.durationSec).toBeCloseTo(want.Duration, 2);
    if (!tolerated.creationTime) {
      if (want.DateTimeOriginal === null) expect(got.creationTime).toBeNull();
      else {
        const reference = expectedInstant(want.DateTimeOriginal, want.OffsetTimeOriginal);
        expect(got.creationTime).toBe(reference.instant);
        expect(got.creationTimeOffset).toBe(reference.offset);
      }
    }
    if (!tolerated.make) expect(got.make).toBe(want.Make);
    if (!tolerated.model) expect(got.model).toBe(want.Model);
    if (want.GPSLatitude === null) expect(got.gpsLat).toBeNull();
    else {
      expect(Math.abs((got.gpsLat ?? 0) - want.GPSLatitude)).toBeLessThan(1e-5);
      expect(Math.abs((got.gpsLon ?? 0) - (want.GPSLongitude ?? 0))).toBeLessThan(1e-5);
      expect(got.gpsAlt).toBe(want.GPSAltitude);
    }
  });

  it('reads codecs, pixel format and bit rate', async () => {
    const hevc = await probeVideo(corpusPath('video/photoprism__quicktime-hvc1.mov'));
    expect(hevc).toMatchObject({ videoCodec: 'hevc', audioCodec: 'aac', pixFmt: 'yuv420p', rotation: 90 });
    expect(hevc.bitRate).toBeGreaterThan(1_000_000);
  });

  it('throws a MediaError naming the file for broken and non-video files, and honours its time limit', async () => {
    for (const file of [
      'broken/photoprism__zero-bytes_2018-04-12_19_24_49.mov',
      'photo/exifr__noexif.jpg.missing',
    ]) {
      await expect(probeVideo(corpusPath(file))).rejects.toThrow(MediaError);
      await expect(probeVideo(corpusPath(file))).rejects.toThrow(corpusPath(file));
    }
    await expect(probeVideo(corpusPath('video/mei__100_0306.AVI'), { timeoutMs: 1 })).rejects.toBeInstanceOf(
      MediaTimeoutError,
    );
  });
});

describe('extractVideoFrame', () => {
  it('takes the frame at 3 s of a long clip and the first frame of a short one', async () => {
    const long = join(dir, 'webm.jpg');
    expect(await extractVideoFrame(corpusPath('video/nom-exif__webm_480.webm'), long)).toEqual({ atSec: 3 });
    const meta = await sharp(long, { failOn: 'error' }).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 480, 270]);

    const short = join(dir, 'm4v.jpg');
    expect(await extractVideoFrame(corpusPath('video/file-type__fixture.m4v'), short)).toEqual({ atSec: 0 });
    expect(
      await extractVideoFrame(corpusPath('video/file-type__fixture.m4v'), short, { durationSec: 0.07 }),
    ).toEqual({ atSec: 0 });
    expect((await sharp(short).metadata()).width).toBe(640);
  });

  it('rotates the frame for display', async () => {
    const out = join(dir, 'rotated.jpg');
    await extractVideoFrame(corpusPath('video/photoprism__quicktime-hvc1.mov'), out); // 1280x720, rotation 90
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([720, 1280]);
  });

  it('decodeWithFfmpeg decodes a still to JPEG bytes and fails with the path otherwise', async () => {
    const jpeg = await decodeWithFfmpeg(corpusPath('photo/exifr__canon-dslr.jpg'), { maxLongSide: 400 });
    const meta = await sharp(jpeg).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 400, 267]);
    // ffmpeg applies the EXIF orientation of a JPEG still: stored 450x600 with orientation 6 -> 600x450.
    const upright = await sharp(
      await decodeWithFfmpeg(corpusPath('photo/exif-samples__orientation_landscape_6.jpg')),
    ).metadata();
    expect([upright.width, upright.height]).toEqual([600, 450]);
    await expect(decodeWithFfmpeg(corpusPath('broken/mei__Issue_419.rw2'))).rejects.toThrow(
      corpusPath('broken/mei__Issue_419.rw2'),
    );
  });
});

describe('parseIso6709', () => {
  it.each([
    ['+32.0929+034.8620+028.516/', { lat: 32.0929, lon: 34.862, alt: 28.516 }],
    ['+51.4169-000.0806/', { lat: 51.4169, lon: -0.0806, alt: null }],
    ['-33.8688+151.2093-012.5/', { lat: -33.8688, lon: 151.2093, alt: -12.5 }],
    ['+52.4597+013.3220+051.178/', { lat: 52.4597, lon: 13.322, alt: 51.178 }],
    ['+95.0000+010.0000/', null],
    ['nonsense', null],
    [undefined, null],
  ])('%s', (value, location) => {
    expect(parseIso6709(value)).toEqual(location);
  });
});
