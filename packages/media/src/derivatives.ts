import { access, mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DecodeBudgetError } from './decode-budget.ts';
import type { ExiftoolProcess } from './exiftool-process.ts';
import { decodeWithFfmpeg } from './ffmpeg-frame.ts';
import { readHeifImageInfo } from './heif-boxes.ts';
import { decodeWithHeifConvert, isHeifConvertAvailable } from './heif-convert.ts';
import { errorMessage } from './media-error.ts';
import { findRawPreview, readRawOrientation } from './raw-preview.ts';
import { type SourceKind, sourceKindOf } from './source-kind.ts';
import {
  DEFAULT_PREVIEW_LONG_SIDE,
  DEFAULT_THUMB_SIZE,
  type DerivativeOptions,
  makePreview,
  makeThumbnail,
  thumbPaths,
} from './thumbnails.ts';
import { withTimeout } from './timeout.ts';
import { videoFrame } from './video.ts';

export type DerivativeTarget = 'thumb' | 'preview';

/** What the pixels came from. */
export type DerivativeSource = 'sharp' | 'heif-convert' | 'embedded-preview' | 'ffmpeg' | 'video-frame';

export interface RenderDerivativesOptions {
  absPath: string;
  contentHash: string;
  thumbnailsDir: string;
  /**
   * What to make; default both. The watcher makes thumbnails for every file first and previews
   * later at a lower priority: call once with ['thumb'], later with ['preview'].
   */
  targets?: DerivativeTarget[];
  /** Decode path when already known; detected from magic bytes and extension otherwise. */
  kind?: SourceKind;
  /**
   * The file's name (its extension helps typing) when `absPath` has none of its own: a verified
   * descriptor's `/proc/<pid>/fd/<fd>` (see openLibraryFile).
   */
  fileName?: string;
  /**
   * The file's EXIF orientation when already known (applied to RAW embedded previews, and to HEIF files
   * decoded by heif-convert that carry no irot/imir of their own).
   */
  orientation?: number | null;
  /** A video's duration when already known (clips of 3 s or less give their first frame). */
  durationSec?: number | null;
  /** Redo even if the outputs or the `.unsupported` sentinel exist. */
  force?: boolean;
  thumbSize?: number;
  previewLongSide?: number;
  limitInputPixels?: number;
  /** ms per step (each decode attempt, each output); default 30 000. */
  timeoutMs?: number;
  /** For RAW previews and orientation; default the shared process, `false` to not use exiftool. */
  exiftool?: ExiftoolProcess | false;
  /** Longest wait for room in the decode memory budget, ms (see DerivativeOptions). */
  decodeQueueTimeoutMs?: number;
}

export type RenderDerivativesResult =
  | { status: 'ready'; source: DerivativeSource | 'existing'; thumb?: string; preview?: string }
  /** `overBudget`: decoding it alone needs more than the whole decode memory budget. */
  | { status: 'unsupported'; reason: string; sentinel?: string; overBudget?: boolean }
  /** `busy`: no room in the decode memory budget came in time; nothing was decoded. */
  | { status: 'failed'; error: string; busy?: boolean };

interface Attempt {
  source: DerivativeSource;
  load: () => Promise<string | Buffer>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readHead(absPath: string): Promise<Buffer> {
  const handle = await open(absPath, 'r');
  try {
    const head = Buffer.alloc(256);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Makes the thumbnail and/or preview of one file, choosing the decoder by file kind:
 * - image: sharp, then ffmpeg;
 * - heif:  sharp (when its libheif decodes it: AVIF), then heif-convert (when on PATH), then ffmpeg;
 * - raw:   the largest valid embedded JPEG (with the RAW's orientation applied), then ffmpeg;
 * - video: a frame at 3 s (first frame of shorter clips), then the first frame;
 * - unknown: sharp, then ffmpeg.
 * When every attempt fails, a zero-byte `.unsupported` sentinel is written next to the thumbnail
 * (when the thumbnail was asked for) so later scans skip the file; deleting it forces a retry.
 * A file that cannot be read at all (missing, permissions, I/O error) gives `failed` and no sentinel:
 * that may be transient. Never throws.
 */
export async function renderImageDerivatives(
  options: RenderDerivativesOptions,
): Promise<RenderDerivativesResult> {
  const { absPath } = options;
  let paths: ReturnType<typeof thumbPaths>;
  try {
    paths = thumbPaths(options.thumbnailsDir, options.contentHash);
  } catch (error) {
    return { status: 'failed', error: `${absPath}: ${errorMessage(error)}` };
  }
  const targets = options.targets ?? ['thumb', 'preview'];
  const wanted = (target: DerivativeTarget) => targets.includes(target);

  if (!options.force) {
    if (wanted('thumb') && (await exists(paths.unsupported))) {
      return {
        status: 'unsupported',
        reason: 'sentinel present (delete it to retry)',
        sentinel: paths.unsupported,
      };
    }
    const done = await Promise.all(targets.map((target) => exists(paths[target])));
    if (done.every(Boolean)) {
      return {
        status: 'ready',
        source: 'existing',
        ...(wanted('thumb') ? { thumb: paths.thumb } : {}),
        ...(wanted('preview') ? { preview: paths.preview } : {}),
      };
    }
  }

  let kind: SourceKind;
  try {
    const info = await stat(absPath);
    if (!info.isFile()) return { status: 'failed', error: `${absPath}: not a regular file` };
    if (info.size === 0) return markUnsupported(paths.unsupported, wanted('thumb'), `${absPath}: empty file`);
    const head = await readHead(absPath);
    kind = options.kind ?? sourceKindOf(options.fileName ?? absPath, head);
  } catch (error) {
    return { status: 'failed', error: `${absPath}: ${errorMessage(error)}` };
  }

  const timeoutMs = options.timeoutMs ?? 30_000;
  const exiftool = options.exiftool;
  const maxLongSide = options.previewLongSide ?? DEFAULT_PREVIEW_LONG_SIDE;
  const ffmpeg: Attempt = {
    source: 'ffmpeg',
    load: () => decodeWithFfmpeg(absPath, { timeoutMs, maxLongSide }),
  };
  let exifOrientation: number | null | undefined = options.orientation;
  const orientationOfFile = async () => {
    if (exifOrientation === undefined) {
      exifOrientation =
        (await readRawOrientation(absPath, { timeoutMs, ...(exiftool !== undefined ? { exiftool } : {}) })) ??
        null;
    }
    return exifOrientation;
  };
  // heif-convert applies the container's irot/imir. A file without them (some iPhone HEICs whose irot
  // was lost) is displayed by its EXIF orientation, as exiftool and the stored width/height/orientation
  // describe it; a file with them is already upright and its EXIF orientation must not rotate it again.
  const orientationOfHeifConvert = async () => {
    const container = await withTimeout(readHeifImageInfo(absPath), timeoutMs, 'heif boxes', absPath).catch(
      () => undefined,
    );
    return container?.transformed ? 1 : ((await orientationOfFile()) ?? 1);
  };

  const attempts: Attempt[] = [];
  if (kind === 'raw') {
    attempts.push({
      source: 'embedded-preview',
      load: async () => {
        const preview = await findRawPreview(absPath, {
          timeoutMs,
          ...(exiftool !== undefined ? { exiftool } : {}),
        });
        if (!preview) throw new Error('no valid embedded JPEG preview');
        return preview.jpeg;
      },
    });
    attempts.push(ffmpeg);
  } else if (kind === 'video') {
    attempts.push({
      source: 'video-frame',
      load: async () =>
        (
          await videoFrame(absPath, {
            timeoutMs,
            maxLongSide,
            ...(options.durationSec != null ? { durationSec: options.durationSec } : {}),
          })
        ).jpeg,
    });
  } else if (kind === 'heif') {
    attempts.push(
      { source: 'sharp', load: async () => absPath },
      {
        source: 'heif-convert',
        load: async () => {
          if (!(await isHeifConvertAvailable())) {
            throw new Error('heif-convert is not on PATH (Debian package libheif-examples)');
          }
          return decodeWithHeifConvert(absPath, { timeoutMs });
        },
      },
      ffmpeg,
    );
  } else {
    attempts.push({ source: 'sharp', load: async () => absPath }, ffmpeg);
  }

  const reasons: string[] = [];
  for (const attempt of attempts) {
    try {
      const input = await attempt.load();
      // Orientation: a file sharp reads keeps its own EXIF orientation (auto-orient); a RAW's embedded
      // preview is stored unrotated and takes the RAW's orientation; heif-convert output is upright when
      // the container has irot/imir, else takes the EXIF orientation (its JPEG's own EXIF tag is never
      // used: buffers get an explicit orientation); ffmpeg output is already upright (it applies a
      // video's display matrix and, for JPEG stills, the EXIF orientation).
      const orientation =
        attempt.source === 'embedded-preview'
          ? ((await orientationOfFile()) ?? 1)
          : attempt.source === 'heif-convert'
            ? await orientationOfHeifConvert()
            : 1;
      const common: DerivativeOptions = {
        timeoutMs,
        sourcePath: absPath,
        ...(options.limitInputPixels !== undefined ? { limitInputPixels: options.limitInputPixels } : {}),
        ...(options.decodeQueueTimeoutMs !== undefined
          ? { decodeQueueTimeoutMs: options.decodeQueueTimeoutMs }
          : {}),
        ...(typeof input === 'string' ? {} : { orientation }),
      };
      const result: Extract<RenderDerivativesResult, { status: 'ready' }> = {
        status: 'ready',
        source: attempt.source,
      };
      if (wanted('thumb')) {
        await makeThumbnail(input, paths.thumb, { ...common, size: options.thumbSize ?? DEFAULT_THUMB_SIZE });
        result.thumb = paths.thumb;
      }
      if (wanted('preview')) {
        await makePreview(input, paths.preview, { ...common, longSide: maxLongSide });
        result.preview = paths.preview;
      }
      if (wanted('thumb')) await rm(paths.unsupported, { force: true });
      return result;
    } catch (error) {
      // The budget's answer holds for every decoder (ffmpeg would allocate the same canvas, outside
      // the budget): no further attempts.
      if (error instanceof DecodeBudgetError && error.reason === 'busy') {
        return { status: 'failed', error: errorMessage(error), busy: true };
      }
      if (error instanceof DecodeBudgetError) {
        const result = await markUnsupported(paths.unsupported, wanted('thumb'), errorMessage(error));
        return result.status === 'unsupported' ? { ...result, overBudget: true } : result;
      }
      reasons.push(`${attempt.source}: ${errorMessage(error)}`);
    }
  }
  return markUnsupported(paths.unsupported, wanted('thumb'), `${absPath}: ${reasons.join('; ')}`);
}

async function markUnsupported(
  sentinel: string,
  writeSentinel: boolean,
  reason: string,
): Promise<RenderDerivativesResult> {
  if (!writeSentinel) return { status: 'unsupported', reason };
  try {
    await mkdir(dirname(sentinel), { recursive: true });
    await writeFile(sentinel, '');
    return { status: 'unsupported', reason, sentinel };
  } catch (error) {
    return {
      status: 'failed',
      error: `${reason}; cannot write sentinel ${sentinel}: ${errorMessage(error)}`,
    };
  }
}
