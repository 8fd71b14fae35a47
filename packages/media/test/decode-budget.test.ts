import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hugeCanvasGif, uniqueJpeg } from '@lumen/test-support';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  configureDecodeBudget,
  DEFAULT_DECODE_MEMORY_BUDGET_BYTES,
  DecodeBudgetError,
  decodeBudget,
  makeThumbnail,
  renderImageDerivatives,
  reserveDecode,
  thumbPaths,
} from '../src/index.ts';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'lumen-media-decode-budget-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => configureDecodeBudget({ memoryBytes: DEFAULT_DECODE_MEMORY_BUDGET_BYTES }));

let counter = 0;
const freshHash = () => `xxh3-128:${(++counter).toString(16).padStart(32, 'b')}`;

describe('the decode memory budget around sharp decodes', () => {
  it('reserves a GIF by its full RGBA canvas, read from the header alone, and gives it back', async () => {
    configureDecodeBudget({ memoryBytes: 1024 * MiB });
    const { release, bytes } = await reserveDecode(hugeCanvasGif(14_000, 1));
    expect(bytes).toBe(14_000 * 14_000 * 4);
    expect(decodeBudget.inUse).toBe(bytes);
    release();
    expect(decodeBudget.inUse).toBe(0);
  });

  it('refuses a 14000 x 14000 GIF under the default budget at once, without decoding it', async () => {
    const started = performance.now();
    const error = await makeThumbnail(hugeCanvasGif(14_000, 2), join(dir, 'bomb.jpg')).catch((e) => e);
    expect(error).toBeInstanceOf(DecodeBudgetError);
    expect(error).toMatchObject({ reason: 'too-large', bytes: 14_000 * 14_000 * 4 });
    expect(String(error.message)).toMatch(/DECODE_MEMORY_BUDGET_MB/);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(existsSync(join(dir, 'bomb.jpg'))).toBe(false);
    expect(decodeBudget.inUse).toBe(0);
  });

  it('makes the thumbnail of a GIF that fits, and the reservation ends with the decode', async () => {
    const out = join(dir, 'fits.jpg');
    const result = await makeThumbnail(hugeCanvasGif(2_000, 3), out, { size: 64 });
    expect(result).toMatchObject({ width: 64, height: 64 });
    expect(decodeBudget.inUse).toBe(0);
  });

  it('answers busy when no room comes within the queue timeout, then works once room is back', async () => {
    configureDecodeBudget({ memoryBytes: 64 * MiB });
    const held = await decodeBudget.acquire(60 * MiB);
    const gif = hugeCanvasGif(2_500, 4); // 25 MB: does not fit beside 60 MiB
    const error = await makeThumbnail(gif, join(dir, 'busy.jpg'), { decodeQueueTimeoutMs: 50 }).catch(
      (e) => e,
    );
    expect(error).toMatchObject({ name: 'DecodeBudgetError', reason: 'busy' });
    const waiting = makeThumbnail(gif, join(dir, 'busy.jpg'), { decodeQueueTimeoutMs: 10_000, size: 32 });
    await new Promise((r) => setTimeout(r, 50));
    expect(decodeBudget.waiting).toBe(1);
    held();
    await expect(waiting).resolves.toMatchObject({ width: 32 });
  });

  it('renderImageDerivatives: too large = unsupported with the sentinel and no ffmpeg attempt; busy = failed, no sentinel', async () => {
    const file = join(dir, 'bomb.gif');
    writeFileSync(file, hugeCanvasGif(14_000, 5));
    const contentHash = freshHash();
    const tooLarge = await renderImageDerivatives({
      absPath: file,
      contentHash,
      thumbnailsDir: dir,
      exiftool: false,
    });
    expect(tooLarge).toMatchObject({ status: 'unsupported', overBudget: true });
    expect(tooLarge.status === 'unsupported' && tooLarge.reason).not.toMatch(/ffmpeg/);
    expect(existsSync(thumbPaths(dir, contentHash).unsupported)).toBe(true);

    configureDecodeBudget({ memoryBytes: 64 * MiB });
    const held = await decodeBudget.acquire(64 * MiB);
    const jpeg = join(dir, 'small.jpg');
    writeFileSync(jpeg, await uniqueJpeg('decode-budget busy'));
    const other = freshHash();
    const busy = await renderImageDerivatives({
      absPath: jpeg,
      contentHash: other,
      thumbnailsDir: dir,
      exiftool: false,
      decodeQueueTimeoutMs: 30,
    });
    held();
    expect(busy).toMatchObject({ status: 'failed', busy: true });
    expect(existsSync(thumbPaths(dir, other).unsupported)).toBe(false);
    const ready = await renderImageDerivatives({
      absPath: jpeg,
      contentHash: other,
      thumbnailsDir: dir,
      exiftool: false,
    });
    expect(ready.status).toBe('ready');
  });
});
