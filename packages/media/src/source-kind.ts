import { open } from 'node:fs/promises';
import { classifyFile, type FileClassification } from '@lumen/core';

/**
 * How a file must be decoded to make its thumbnail:
 * - image: sharp decodes it directly (JPEG, PNG, WebP, GIF, TIFF, AVIF; BMP falls through to ffmpeg);
 * - heif:  HEIC/HEIF, sharp when its libheif has a decoder for it (AVIF), else heif-convert, else ffmpeg;
 * - raw:   camera RAW, through its embedded JPEG preview;
 * - video: a frame through ffmpeg;
 * - unknown: content that @lumen/core does not recognise (sharp, then ffmpeg, are still tried).
 *
 * The file typing itself (magic bytes first, extension second, TIFF content under a RAW extension
 * is that RAW) is @lumen/core's classifyFile; this only maps its answer to a decode path.
 */
export type SourceKind = 'image' | 'heif' | 'raw' | 'video' | 'unknown';

/** Bytes read from the start of a file to classify it (core needs 64; more lets it look further). */
const HEAD_BYTES = 256;

export function sourceKindFromClassification(classification: FileClassification): SourceKind {
  if (!classification.supported) return 'unknown';
  if (classification.mediaType === 'raw') return 'raw';
  if (classification.mediaType === 'video') return 'video';
  if (classification.family === 'heif') return 'heif';
  return 'image';
}

/** The decode path of a file from its name and first bytes. */
export function sourceKindOf(fileName: string, head: Uint8Array): SourceKind {
  return sourceKindFromClassification(classifyFile(fileName, head));
}

/** Reads the first bytes of the file and decides its decode path. */
export async function detectSourceKind(absPath: string): Promise<SourceKind> {
  const handle = await open(absPath, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return sourceKindOf(absPath, head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
