import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { paddedCrop, type RelativeBox } from '@lumen/core';
import { contentHashHex, type ExiftoolProcess, renderImageDerivatives, thumbPaths } from '@lumen/media';
import sharp from 'sharp';

/** The file could not give an upright image (unreadable, undecodable): the photo gets a `failed` marker. */
export class FaceSourceError extends Error {
  override name = 'FaceSourceError';
}

export interface FaceSourceOptions {
  root: string;
  relPath: string;
  contentHash: string;
  orientation: number | null;
  thumbnailsDir: string;
  /** PREVIEW_SIZE: the long side of the preview that is sent. */
  previewSize: number;
  timeoutMs?: number;
  exiftool?: ExiftoolProcess | false;
}

/**
 * What is sent for detection: the photo's preview (the content-addressed derivative the watcher
 * makes: upright, EXIF orientation applied, RAW from its largest embedded preview, HEIC decoded,
 * long side PREVIEW_SIZE, JPEG). Made here when it is not there yet, through the same renderer, so
 * a photo is never sent before it could be decoded and never in a format the service may not read.
 */
export async function faceSourceImage(options: FaceSourceOptions): Promise<Buffer> {
  const paths = thumbPaths(options.thumbnailsDir, options.contentHash);
  try {
    return await readFile(paths.preview);
  } catch {
    // Not made yet: make it below.
  }
  const result = await renderImageDerivatives({
    absPath: join(options.root, options.relPath),
    contentHash: options.contentHash,
    thumbnailsDir: options.thumbnailsDir,
    targets: ['preview'],
    orientation: options.orientation,
    previewLongSide: options.previewSize,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.exiftool === undefined ? {} : { exiftool: options.exiftool }),
  });
  if (result.status !== 'ready') {
    throw new FaceSourceError(result.status === 'failed' ? result.error : `unsupported: ${result.reason}`);
  }
  try {
    return await readFile(paths.preview);
  } catch (err) {
    throw new FaceSourceError(`preview vanished: ${(err as Error).message}`);
  }
}

/**
 * The crop of a face for embedding or display: square around the box, padded so the face fills
 * about half of it, from an upright image.
 */
export async function cropFace(
  upright: Buffer,
  box: RelativeBox,
  options: { size?: number; fill?: number } = {},
): Promise<Buffer> {
  const meta = await sharp(upright).metadata();
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width === 0 || height === 0) throw new FaceSourceError('image without size');
  const region = paddedCrop(
    { x: box.x * width, y: box.y * height, width: box.w * width, height: box.h * height },
    width,
    height,
    options.fill ?? 0.5,
  );
  let pipeline = sharp(upright).extract(region);
  if (options.size) pipeline = pipeline.resize(options.size, options.size, { fit: 'cover' });
  return pipeline.jpeg({ quality: 90 }).toBuffer();
}

/** Edge of a face crop (`GET /faces/{id}/thumb`). */
export const FACE_THUMB_SIZE = 160;

/**
 * Where a face crop lives: `<THUMBNAILS>/faces/<aa>/<bb>/<hex>-<box>.jpg`, keyed by content hash
 * and box (rounded to 1/10000), so the same face of a duplicate or a moved file reuses it and a new
 * box gets a new file.
 */
export function faceThumbPath(thumbnailsDir: string, contentHash: string, box: RelativeBox): string {
  const hex = contentHashHex(contentHash);
  const key = [box.x, box.y, box.w, box.h].map((v) => Math.round(v * 10_000)).join(',');
  const boxHash = createHash('sha256').update(key).digest('hex').slice(0, 12);
  return join(thumbnailsDir, 'faces', hex.slice(0, 2), hex.slice(2, 4), `${hex}-${boxHash}.jpg`);
}

/** The face crop file, made from the preview when it is not there yet. Returns its path. */
export async function ensureFaceThumb(source: FaceSourceOptions, box: RelativeBox): Promise<string> {
  const target = faceThumbPath(source.thumbnailsDir, source.contentHash, box);
  try {
    await readFile(target);
    return target;
  } catch {
    // make it
  }
  const crop = await cropFace(await faceSourceImage(source), box, { size: FACE_THUMB_SIZE, fill: 0.5 });
  await mkdir(dirname(target), { recursive: true });
  const temporary = `${target}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(temporary, crop);
    await rename(temporary, target);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  return target;
}
