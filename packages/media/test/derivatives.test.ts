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
 * HEIC/HEIF cannot be thumbnailed on this platform: sharp's prebuilt libheif has no HEVC decoder
 * (AVIF only) and ffmpeg 5.1 does not read HEIF image files. They get the sentinel here; the test
 * accepts a thumbnail too, for platforms that can decode them.
 */
const isHeic = (file: string) => expectedFor(file).FileType === 'HEIC' && !file.startsWith('broken/');

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
    const mustBeReady = !file.startsWith('broken/') && !isHeic(file);
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
    expect(source('broken/photoprism__zero-bytes_2018-04-12_19_24_49.mov')).toBe('unsupported');
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
