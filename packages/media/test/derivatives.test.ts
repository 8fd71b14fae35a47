import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ExiftoolProcess,
  hashFile,
  type RenderDerivativesResult,
  renderImageDerivatives,
  thumbPaths,
} from '../src/index.ts';
import { corpusFiles, corpusPath, expectedFor } from './corpus.ts';

const thumbnailsDir = mkdtempSync(join(tmpdir(), 'lumen-media-derivatives-'));
const exiftool = new ExiftoolProcess();
afterAll(async () => {
  await exiftool.close();
  rmSync(thumbnailsDir, { recursive: true, force: true });
});

/** A fake but well-formed content hash per test case, so cases never share outputs. */
let counter = 0;
const freshHash = () => `xxh3-128:${(++counter).toString(16).padStart(32, '0')}`;

async function expectJpeg(path: string, width: number, height: number) {
  const meta = await sharp(path, { failOn: 'error' }).metadata();
  expect({ path, format: meta.format, width: meta.width, height: meta.height }).toEqual({
    path,
    format: 'jpeg',
    width,
    height,
  });
}

async function expectPreview(path: string) {
  const meta = await sharp(path, { failOn: 'error' }).metadata();
  expect(meta.format).toBe('jpeg');
  expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBeLessThanOrEqual(1440);
  return meta;
}

const FILES = [
  ...corpusFiles('photo'),
  ...corpusFiles('raw'),
  ...corpusFiles('video'),
  ...corpusFiles('broken'),
];
const PER_FILE_LIMIT_MS = 20_000;

/**
 * HEIC/HEIF (HEVC-coded): sharp's prebuilt libheif has no HEVC decoder (AVIF only) and ffmpeg 5.1 does
 * not read HEIF image files, so only heif-convert (Debian's libheif-examples) decodes them. With it on
 * PATH they must get real thumbnails; without it they get the sentinel.
 */
const isHeic = (file: string) => expectedFor(file).FileType === 'HEIC' && !file.startsWith('broken/');
const HEIC_FILES = corpusFiles('photo').filter(isHeic);
/** Looked up here independently of the package's own detection. */
const heifConvertOnPath = spawnSync('heif-convert', ['--help'], { stdio: 'ignore' }).error === undefined;
const NO_HEIF_CONVERT =
  'heif-convert is not on PATH (apt-get install libheif-examples): HEIC/HEIF thumbnails are not required';

/** heif-convert's private temporary folders (`lumen-heif-*`); the ones there before the tests are ignored. */
const heifTemporaryDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('lumen-heif-'));
const heifTemporaryDirsBefore = new Set(heifTemporaryDirs());

/** The size a correctly displayed preview has: exiftool's stored size, turned by its orientation, fit in 1440. */
function expectedPreviewSize(file: string): { width: number; height: number } {
  const { ImageWidth, ImageHeight, Orientation } = expectedFor(file);
  if (!ImageWidth || !ImageHeight) throw new Error(`expected.json has no size for ${file}`);
  const [width, height] = (Orientation ?? 1) >= 5 ? [ImageHeight, ImageWidth] : [ImageWidth, ImageHeight];
  const scale = Math.min(1, 1440 / Math.max(width, height));
  return { width: Math.round(width * scale), height: Math.round(height * scale) };
}

describe('renderImageDerivatives on every corpus file', () => {
  const results = new Map<string, { result: RenderDerivativesResult; ms: number; hash: string }>();

  beforeAll(async () => {
    // Four files in flight, as the watcher would run it.
    const queue = [...FILES];
    const worker = async () => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        const absPath = corpusPath(file);
        const hash = statSync(absPath).size > 0 ? await hashFile(absPath) : freshHash();
        const started = performance.now();
        const result = await renderImageDerivatives({
          absPath,
          contentHash: hash,
          thumbnailsDir,
          exiftool,
          timeoutMs: 15_000,
        });
        results.set(file, { result, ms: performance.now() - started, hash });
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }, 120_000);

  it.each(FILES)('%s: a 200x200 JPEG thumbnail and a preview, or the sentinel, in time', async (file) => {
    const entry = results.get(file);
    expect(entry).toBeDefined();
    const { result, ms, hash } = entry!;
    expect(ms).toBeLessThan(PER_FILE_LIMIT_MS);
    const paths = thumbPaths(thumbnailsDir, hash);
    if (result.status === 'ready') {
      await expectJpeg(result.thumb!, 200, 200);
      await expectPreview(result.preview!);
      expect(result.thumb).toBe(paths.thumb);
    } else {
      expect(result).toMatchObject({ status: 'unsupported', sentinel: paths.unsupported });
      expect(statSync(paths.unsupported).size).toBe(0);
      if (result.status === 'unsupported') expect(result.reason).toContain(corpusPath(file));
    }
    const mustBeReady = !file.startsWith('broken/') && (!isHeic(file) || heifConvertOnPath);
    if (mustBeReady) expect(result).toMatchObject({ status: 'ready' });
  });

  it('uses the expected decoder per kind', () => {
    const source = (file: string) => {
      const result = results.get(file)?.result;
      return result?.status === 'ready' ? result.source : result?.status;
    };
    expect(source('photo/exifr__canon-dslr.jpg')).toBe('sharp');
    expect(source('photo/exifr__avif_Irvine_CA.avif')).toBe('sharp');
    for (const file of corpusFiles('raw')) expect(source(file)).toBe('embedded-preview');
    for (const file of corpusFiles('video')) expect(source(file)).toBe('video-frame');
    expect(source('broken/photoprism__wrong.heic')).toBe('sharp'); // a JPEG named .heic
    for (const file of HEIC_FILES)
      expect(source(file)).toBe(heifConvertOnPath ? 'heif-convert' : 'unsupported');
    expect(source('broken/photoprism__zero-bytes_2018-04-12_19_24_49.mov')).toBe('unsupported');
  });

  it.for(HEIC_FILES)('%s: decoded by heif-convert, displayed upright', async (file, context) => {
    if (!heifConvertOnPath) context.skip(NO_HEIF_CONVERT);
    const entry = results.get(file);
    expect(entry?.result).toMatchObject({ status: 'ready', source: 'heif-convert' });
    const preview = await expectPreview(thumbPaths(thumbnailsDir, entry!.hash).preview);
    const want = expectedPreviewSize(file);
    expect(Math.abs((preview.width ?? 0) - want.width)).toBeLessThanOrEqual(1);
    expect(Math.abs((preview.height ?? 0) - want.height)).toBeLessThanOrEqual(1);
  });

  it('leaves no temporary files behind', () => {
    const leftovers: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(dir, entry.name));
        else if (entry.name.endsWith('.tmp')) leftovers.push(entry.name);
      }
    };
    walk(thumbnailsDir);
    expect(leftovers).toEqual([]);
    expect(heifTemporaryDirs().filter((name) => !heifTemporaryDirsBefore.has(name))).toEqual([]);
  });
});

describe('renderImageDerivatives behaviour', () => {
  it('makes the thumbnail first and the preview later, and skips work already done', async () => {
    const contentHash = freshHash();
    const absPath = corpusPath('photo/mei__Blackberry_Z10.jpg'); // 3264x1836, orientation 6
    const paths = thumbPaths(thumbnailsDir, contentHash);
    const first = await renderImageDerivatives({
      absPath,
      contentHash,
      thumbnailsDir,
      targets: ['thumb'],
      exiftool,
    });
    expect(first).toEqual({ status: 'ready', source: 'sharp', thumb: paths.thumb });
    expect(() => statSync(paths.preview)).toThrow();
    const second = await renderImageDerivatives({
      absPath,
      contentHash,
      thumbnailsDir,
      targets: ['preview'],
      exiftool,
    });
    expect(second).toEqual({ status: 'ready', source: 'sharp', preview: paths.preview });
    await expectJpeg(paths.preview, 810, 1440); // upright portrait
    const again = await renderImageDerivatives({ absPath, contentHash, thumbnailsDir, exiftool });
    expect(again).toEqual({
      status: 'ready',
      source: 'existing',
      thumb: paths.thumb,
      preview: paths.preview,
    });
  });

  it('does not retry while the sentinel exists; deleting it (or force) retries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lumen-media-sentinel-'));
    try {
      const absPath = join(dir, 'not-an-image.jpg');
      writeFileSync(absPath, 'this is text, not a JPEG');
      const contentHash = freshHash();
      const paths = thumbPaths(thumbnailsDir, contentHash);
      const first = await renderImageDerivatives({ absPath, contentHash, thumbnailsDir, exiftool });
      expect(first).toMatchObject({ status: 'unsupported', sentinel: paths.unsupported });
      const second = await renderImageDerivatives({ absPath, contentHash, thumbnailsDir, exiftool });
      expect(second).toMatchObject({
        status: 'unsupported',
        reason: expect.stringMatching(/sentinel present/),
      });

      // The file is replaced by a real image with the same (fake) hash; the sentinel goes away on success.
      writeFileSync(absPath, await sharp(corpusPath('photo/exifr__noexif.jpg')).toBuffer());
      rmSync(paths.unsupported);
      const third = await renderImageDerivatives({ absPath, contentHash, thumbnailsDir, exiftool });
      expect(third).toMatchObject({ status: 'ready', source: 'sharp' });
      writeFileSync(paths.unsupported, '');
      const forced = await renderImageDerivatives({
        absPath,
        contentHash,
        thumbnailsDir,
        exiftool,
        force: true,
      });
      expect(forced).toMatchObject({ status: 'ready' });
      expect(() => statSync(paths.unsupported)).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports unreadable paths as failed (maybe transient) without a sentinel, and never stalls on a FIFO', async () => {
    const contentHash = freshHash();
    const missing = await renderImageDerivatives({
      absPath: '/nonexistent/lumen.jpg',
      contentHash,
      thumbnailsDir,
      exiftool,
    });
    expect(missing).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('/nonexistent/lumen.jpg'),
    });
    expect(() => statSync(thumbPaths(thumbnailsDir, contentHash).unsupported)).toThrow();

    const dir = mkdtempSync(join(tmpdir(), 'lumen-media-fifo-'));
    try {
      const fifo = join(dir, 'pipe.jpg');
      const { execFileSync } = await import('node:child_process');
      execFileSync('mkfifo', [fifo]);
      const result = await renderImageDerivatives({
        absPath: fifo,
        contentHash: freshHash(),
        thumbnailsDir,
        exiftool,
      });
      expect(result).toMatchObject({ status: 'failed', error: expect.stringMatching(/not a regular file/) });
      const bad = await renderImageDerivatives({
        absPath: fifo,
        contentHash: 'nope',
        thumbnailsDir,
        exiftool,
      });
      expect(bad).toMatchObject({ status: 'failed', error: expect.stringMatching(/not a content hash/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('applies the RAW orientation to its embedded preview', async () => {
    // Sony ARW with Orientation 6 whose only valid preview is the 160x120 EXIF thumbnail.
    const contentHash = freshHash();
    const result = await renderImageDerivatives({
      absPath: corpusPath('broken/file-type__fixture-sony-zv-e10.arw'),
      contentHash,
      thumbnailsDir,
      exiftool,
    });
    expect(result).toMatchObject({ status: 'ready', source: 'embedded-preview' });
    await expectJpeg(thumbPaths(thumbnailsDir, contentHash).preview, 120, 160);
  });

  it('does not turn a heif-convert decode again by EXIF when the container has irot; uses EXIF when not', async (context) => {
    if (!heifConvertOnPath) context.skip(NO_HEIF_CONVERT);
    // iPhone 13 Pro Max: stored 4032x3024, irot 270 (applied by heif-convert) and EXIF Orientation 6.
    // The caller passes the EXIF orientation it stored; applying it again would give a landscape image.
    const withIrot = freshHash();
    const first = await renderImageDerivatives({
      absPath: corpusPath('photo/exif-samples__heic_iphone_13_pro_max.HEIC'),
      contentHash: withIrot,
      thumbnailsDir,
      exiftool,
      orientation: 6,
    });
    expect(first).toMatchObject({ status: 'ready', source: 'heif-convert' });
    await expectJpeg(thumbPaths(thumbnailsDir, withIrot).preview, 1080, 1440);
    // iPhone 7: stored 4032x3024, EXIF Orientation 6 and no irot: displayed as EXIF says (portrait).
    const withoutIrot = freshHash();
    const second = await renderImageDerivatives({
      absPath: corpusPath('photo/photoprism__iphone_7.heic'),
      contentHash: withoutIrot,
      thumbnailsDir,
      exiftool,
      targets: ['preview'],
    });
    expect(second).toMatchObject({ status: 'ready', source: 'heif-convert' });
    await expectJpeg(thumbPaths(thumbnailsDir, withoutIrot).preview, 1080, 1440);
  });

  it('rotates video frames for display (rotation 90)', async () => {
    const contentHash = freshHash();
    const result = await renderImageDerivatives({
      absPath: corpusPath('video/mei__with-gps.mov'), // 568x320 coded, rotation 90
      contentHash,
      thumbnailsDir,
      exiftool,
    });
    expect(result).toMatchObject({ status: 'ready', source: 'video-frame' });
    await expectJpeg(thumbPaths(thumbnailsDir, contentHash).preview, 320, 568);
  });

  it('writes the sentinel for an empty file, in its content-addressed folder', async () => {
    const dir = join(thumbnailsDir, 'empty-case');
    mkdirSync(dir);
    const absPath = join(dir, 'empty.jpg');
    writeFileSync(absPath, '');
    const contentHash = await hashFile(absPath);
    const result = await renderImageDerivatives({ absPath, contentHash, thumbnailsDir, exiftool });
    expect(result).toMatchObject({
      status: 'unsupported',
      sentinel: thumbPaths(thumbnailsDir, contentHash).unsupported,
    });
  });
});
