import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyOrientation,
  configureSharp,
  makePreview,
  makeThumbnail,
  orientationFromRotation,
  thumbPaths,
  withTimeout,
} from '../src/index.ts';
import { corpusPath } from './corpus.ts';

const dir = mkdtempSync(join(tmpdir(), 'lumen-media-thumbs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('thumbPaths', () => {
  it('lays out content-addressed files under two levels of hash prefix, without the algorithm name', () => {
    const hash = 'xxh3-128:0123456789abcdef0123456789abcdef';
    expect(thumbPaths('/thumbs', hash)).toEqual({
      thumb: '/thumbs/01/23/0123456789abcdef0123456789abcdef-thumb.jpg',
      preview: '/thumbs/01/23/0123456789abcdef0123456789abcdef-preview.jpg',
      unsupported: '/thumbs/01/23/0123456789abcdef0123456789abcdef-thumb.unsupported',
    });
  });

  it.each(['', 'xxh3-128:', 'xxh3-128:XYZ', '0123456789abcdef0123456789abcdef', 'xxh3-128:../../etc/passwd'])(
    'refuses %j',
    (hash) => {
      expect(() => thumbPaths('/thumbs', hash)).toThrow(/not a content hash/);
    },
  );
});

describe('applyOrientation (EXIF orientations 1-8)', () => {
  // A 3x2 image with distinct grey values: a b c / d e f.
  const width = 3;
  const height = 2;
  const pixels = Buffer.from([10, 20, 30, 40, 50, 60]);
  const at = (x: number, y: number) => pixels[y * width + x] ?? -1;
  /** Where display pixel (x, y) comes from in the stored image, per the EXIF definitions. */
  const expected: Record<number, { w: number; h: number; from: (x: number, y: number) => number }> = {
    1: { w: 3, h: 2, from: (x, y) => at(x, y) },
    2: { w: 3, h: 2, from: (x, y) => at(width - 1 - x, y) },
    3: { w: 3, h: 2, from: (x, y) => at(width - 1 - x, height - 1 - y) },
    4: { w: 3, h: 2, from: (x, y) => at(x, height - 1 - y) },
    5: { w: 2, h: 3, from: (x, y) => at(y, x) },
    6: { w: 2, h: 3, from: (x, y) => at(y, height - 1 - x) },
    7: { w: 2, h: 3, from: (x, y) => at(width - 1 - y, height - 1 - x) },
    8: { w: 2, h: 3, from: (x, y) => at(width - 1 - y, x) },
  };

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('orientation %i', async (orientation) => {
    const input = sharp(pixels, { raw: { width, height, channels: 1 } });
    const { data, info } = await applyOrientation(input, orientation)
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    const want = expected[orientation]!;
    expect([info.width, info.height]).toEqual([want.w, want.h]);
    const wantPixels: number[] = [];
    for (let y = 0; y < want.h; y++) for (let x = 0; x < want.w; x++) wantPixels.push(want.from(x, y));
    expect([...data]).toEqual(wantPixels);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'orientation %i matches libvips auto-orientation of a JPEG tagged with it',
    async (orientation) => {
      const raw = { raw: { width: 48, height: 32, channels: 1 as const } };
      const base = await sharp(Buffer.from([40, 80, 120, 160, 200, 240]), {
        raw: { width: 3, height: 2, channels: 1 },
      })
        .resize(48, 32, { kernel: 'nearest' })
        .raw()
        .toBuffer();
      const tagged = await sharp(base, raw).jpeg({ quality: 100 }).withMetadata({ orientation }).toBuffer();
      const auto = await sharp(tagged).rotate().extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      const mine = await applyOrientation(sharp(base, raw), orientation)
        .extractChannel(0)
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect([mine.info.width, mine.info.height]).toEqual([auto.info.width, auto.info.height]);
      let largest = 0;
      for (let i = 0; i < mine.data.length; i++)
        largest = Math.max(largest, Math.abs((mine.data[i] ?? 0) - (auto.data[i] ?? 0)));
      expect(largest).toBeLessThan(3);
    },
  );

  it.each([
    [0, 1],
    [90, 6],
    [180, 3],
    [270, 8],
    [-90, 8],
    [450, 6],
    [null, 1],
  ])('rotation %s -> orientation %i', (rotation, orientation) => {
    expect(orientationFromRotation(rotation)).toBe(orientation);
  });
});

async function meanDifference(a: string, b: string): Promise<number> {
  const [x, y] = await Promise.all(
    [a, b].map((file) => sharp(file).resize(60, 45, { fit: 'fill' }).greyscale().raw().toBuffer()),
  );
  let sum = 0;
  for (let i = 0; i < x!.length; i++) sum += Math.abs((x![i] ?? 0) - (y![i] ?? 0));
  return sum / x!.length;
}

describe('makeThumbnail / makePreview', () => {
  it('applies EXIF orientation: the four orientation samples give the same upright picture', async () => {
    const outputs: string[] = [];
    for (const orientation of [1, 3, 6, 8]) {
      const out = join(dir, `orientation-${orientation}-preview.jpg`);
      const result = await makePreview(
        corpusPath(`photo/exif-samples__orientation_landscape_${orientation}.jpg`),
        out,
      );
      expect([result.width, result.height]).toEqual([600, 450]); // upright landscape, not enlarged
      outputs.push(out);
      const thumb = await makeThumbnail(
        corpusPath(`photo/exif-samples__orientation_landscape_${orientation}.jpg`),
        join(dir, `o${orientation}-thumb.jpg`),
      );
      expect([thumb.width, thumb.height]).toEqual([200, 200]);
    }
    for (const other of outputs.slice(1)) expect(await meanDifference(outputs[0]!, other)).toBeLessThan(8);
    // Control: an image that is not rotated differs a lot from a rotated one.
    const unrotated = join(dir, 'unrotated.jpg');
    await sharp(corpusPath('photo/exif-samples__orientation_landscape_3.jpg'))
      .resize(600, 450)
      .toFile(unrotated);
    expect(await meanDifference(outputs[0]!, unrotated)).toBeGreaterThan(15);
  });

  it('writes valid JPEGs of the asked size, atomically (no temporary file left)', async () => {
    const out = join(dir, 'atomic', 'canon-thumb.jpg');
    const thumb = await makeThumbnail(corpusPath('photo/exifr__canon-dslr.jpg'), out);
    expect(thumb).toMatchObject({ path: out, width: 200, height: 200 });
    const preview = await makePreview(
      corpusPath('photo/exifr__canon-dslr.jpg'),
      join(dir, 'atomic', 'canon-preview.jpg'),
    );
    expect([preview.width, preview.height]).toEqual([1440, 960]);
    for (const file of [out, preview.path]) {
      const meta = await sharp(file, { failOn: 'error' }).metadata();
      expect(meta.format).toBe('jpeg');
    }
    expect(readdirSync(join(dir, 'atomic')).sort()).toEqual(['canon-preview.jpg', 'canon-thumb.jpg']);
  });

  it('takes a buffer and a forced orientation (RAW previews)', async () => {
    const jpeg = readFileSync(corpusPath('photo/exif-samples__orientation_landscape_1.jpg'));
    const result = await makePreview(jpeg, join(dir, 'forced.jpg'), { orientation: 6 });
    expect([result.width, result.height]).toEqual([450, 600]);
  });

  it('refuses a decompression bomb quickly, naming the file', async () => {
    // A real JPEG whose frame header claims 65500 x 65500 pixels (4.3 gigapixels).
    const jpeg = Buffer.from(readFileSync(corpusPath('photo/exif-samples__orientation_landscape_1.jpg')));
    let patched = 0;
    for (let i = 0; i + 9 < jpeg.length; i++) {
      if (jpeg[i] === 0xff && jpeg[i + 1] !== undefined && [0xc0, 0xc1, 0xc2].includes(jpeg[i + 1]!)) {
        jpeg.writeUInt16BE(65_500, i + 5);
        jpeg.writeUInt16BE(65_500, i + 7);
        patched++;
        break;
      }
    }
    expect(patched).toBe(1);
    const bomb = join(dir, 'bomb.jpg');
    writeFileSync(bomb, jpeg);
    const started = performance.now();
    await expect(makeThumbnail(bomb, join(dir, 'bomb-thumb.jpg'))).rejects.toThrow(
      /thumbnail failed for .*bomb\.jpg: .*pixel limit/i,
    );
    expect(performance.now() - started).toBeLessThan(5_000);
    await expect(makeThumbnail(bomb, join(dir, 'bomb-thumb.jpg'), { limitInputPixels: 10 })).rejects.toThrow(
      /pixel limit/i,
    );
  });

  it('names the source file when a buffer fails to decode', async () => {
    await expect(
      makeThumbnail(Buffer.from('not an image'), join(dir, 'x.jpg'), { sourcePath: '/library/a.cr2' }),
    ).rejects.toThrow(/thumbnail failed for \/library\/a\.cr2/);
  });
});

describe('withTimeout and configureSharp', () => {
  it('rejects a stalled step with the operation, the path and the limit', async () => {
    await expect(withTimeout(new Promise(() => {}), 50, 'exifr', '/library/stuck.jpg')).rejects.toThrow(
      'exifr failed for /library/stuck.jpg: timed out after 50 ms',
    );
    await expect(withTimeout(Promise.resolve(7), 50, 'x', '/y')).resolves.toBe(7);
  });

  it('sets sharp concurrency only when asked', () => {
    const before = sharp.concurrency();
    try {
      expect(configureSharp({ concurrency: 2 })).toEqual({ concurrency: 2 });
      expect(sharp.concurrency()).toBe(2);
      expect(() => configureSharp({ concurrency: -1 })).toThrow(/non-negative integer/);
    } finally {
      sharp.concurrency(before);
    }
  });
});
