import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DecodeTarget } from '@lumen/core';
import sharp, { type OutputInfo } from 'sharp';
import { reserveDecode } from './decode-budget.ts';
import { contentHashHex } from './hash.ts';
import { errorMessage, MediaError } from './media-error.ts';
import { applyOrientation } from './orientation.ts';
import { temporaryPathFor } from './temporary-path.ts';
import { withTimeout } from './timeout.ts';

/**
 * Largest decoded image accepted, in pixels (a decompression-bomb guard: sharp refuses larger inputs
 * before decoding). 200 MP: 100 MP would refuse real cameras (Fujifilm GFX100 files are 102 MP).
 */
export const DEFAULT_LIMIT_INPUT_PIXELS = 200_000_000;
export const DEFAULT_THUMB_SIZE = 200;
export const DEFAULT_PREVIEW_LONG_SIDE = 1440;
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Content-addressed derivative paths: `<dir>/<aa>/<bb>/<hex>-thumb.jpg` where `<hex>` is the hash
 * without its algorithm prefix (`xxh3-128:`) and `aa`, `bb` its first two byte pairs (65,536 folders,
 * so none grows huge). The prefix is left out of the name: a change of algorithm changes every hash
 * anyway, and the old files become orphans for the GC. A moved or duplicated file reuses the same files.
 */
export interface ThumbPaths {
  thumb: string;
  preview: string;
  /** Zero-byte sentinel: nothing could make a thumbnail of this content; delete it to retry. */
  unsupported: string;
}

export function thumbPaths(thumbnailsDir: string, contentHash: string): ThumbPaths {
  const hex = contentHashHex(contentHash);
  const dir = join(thumbnailsDir, hex.slice(0, 2), hex.slice(2, 4));
  return {
    thumb: join(dir, `${hex}-thumb.jpg`),
    preview: join(dir, `${hex}-preview.jpg`),
    unsupported: join(dir, `${hex}-thumb.unsupported`),
  };
}

export interface DerivativeOptions {
  /** Refuse inputs larger than this many pixels; default DEFAULT_LIMIT_INPUT_PIXELS. */
  limitInputPixels?: number;
  /** ms; default 30 000. */
  timeoutMs?: number;
  /**
   * Apply this EXIF orientation instead of the source's own (for pixels that carry none, such as a
   * RAW's embedded preview). Default: the source's own EXIF orientation (sharp's auto-orient).
   */
  orientation?: number | null;
  /** JPEG quality; default 80. */
  quality?: number;
  /**
   * How strict decoding is; default `none`: a damaged image (truncated JPEG, bad PNG checksum) still
   * gets a thumbnail of whatever decodes. Size limits apply either way.
   */
  failOn?: 'none' | 'truncated' | 'error' | 'warning';
  /** The original file, for error messages when `source` is a buffer. */
  sourcePath?: string;
  /**
   * Longest wait for room in the process's decode memory budget (`decodeBudget`), ms; default
   * DEFAULT_DECODE_QUEUE_TIMEOUT_MS. Past it, or when the image alone exceeds the budget, the call
   * rejects with DecodeBudgetError and decodes nothing.
   */
  decodeQueueTimeoutMs?: number;
}

export interface DerivativeResult {
  path: string;
  width: number;
  height: number;
  bytes: number;
}

function openImage(source: string | Buffer, options: DerivativeOptions) {
  const image = sharp(source, {
    limitInputPixels: options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS,
    failOn: options.failOn ?? 'none',
    sequentialRead: true,
  });
  const oriented =
    options.orientation != null ? applyOrientation(image, options.orientation) : image.rotate();
  const seconds = Math.max(1, Math.ceil((options.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000));
  return oriented.timeout({ seconds });
}

async function writeAtomically(
  operation: string,
  out: string,
  options: DerivativeOptions,
  source: string | Buffer,
  target: DecodeTarget,
  render: (temporary: string) => Promise<OutputInfo>,
): Promise<DerivativeResult> {
  const label = options.sourcePath ?? (typeof source === 'string' ? source : '<buffer>');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // Room in the decode memory budget first (header read only): the wait is not part of the timeout.
  const { release } = await reserveDecode(source, {
    target,
    limitInputPixels: options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS,
    timeoutMs,
    sourcePath: label,
    operation,
    ...(options.decodeQueueTimeoutMs !== undefined ? { queueTimeoutMs: options.decodeQueueTimeoutMs } : {}),
  });
  const temporary = temporaryPathFor(out);
  let rendering: Promise<OutputInfo> | undefined;
  try {
    await mkdir(dirname(out), { recursive: true });
    rendering = render(temporary);
    // The reservation is given back when libvips is done, not when a timeout gives up waiting.
    rendering.then(release, release);
    // sharp's own timeout stops libvips; this one also covers a stalled read before it starts.
    const info = await withTimeout(rendering, timeoutMs + 2_000, operation, label);
    await rename(temporary, out);
    return { path: out, width: info.width, height: info.height, bytes: info.size };
  } catch (error) {
    if (!rendering) release();
    await rm(temporary, { force: true });
    if (error instanceof MediaError) throw error;
    throw new MediaError(operation, label, errorMessage(error), { cause: error });
  }
}

/**
 * A `size` x `size` JPEG (cover crop, centred, orientation applied; small images are enlarged so every
 * thumbnail has the same size). JPEG sources use shrink-on-load. Written to a temporary file, then
 * renamed onto `out`.
 */
export async function makeThumbnail(
  source: string | Buffer,
  out: string,
  options: DerivativeOptions & { size?: number } = {},
): Promise<DerivativeResult> {
  const size = options.size ?? DEFAULT_THUMB_SIZE;
  const target: DecodeTarget = { width: size, height: size, fit: 'cover' };
  return writeAtomically('thumbnail', out, options, source, target, (temporary) =>
    openImage(source, options)
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: options.quality ?? 80 })
      .toFile(temporary),
  );
}

/** A JPEG whose long side is at most `longSide` (never enlarged), orientation applied; atomic like makeThumbnail. */
export async function makePreview(
  source: string | Buffer,
  out: string,
  options: DerivativeOptions & { longSide?: number } = {},
): Promise<DerivativeResult> {
  const longSide = options.longSide ?? DEFAULT_PREVIEW_LONG_SIDE;
  const target: DecodeTarget = { width: longSide, height: longSide, fit: 'inside' };
  return writeAtomically('preview', out, options, source, target, (temporary) =>
    openImage(source, options)
      .resize(longSide, longSide, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: options.quality ?? 82 })
      .toFile(temporary),
  );
}
