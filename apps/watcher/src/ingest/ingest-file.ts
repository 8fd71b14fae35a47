import fs from 'node:fs/promises';
import path from 'node:path';
import { classifyFile, MAGIC_HEADER_BYTES, type MediaType, PathError, storedMtimeMs } from '@lumen/core';
import type { ImageExifInput, ThumbStatus } from '@lumen/db';
import {
  type ExiftoolProcess,
  errorMessage,
  hashFile,
  type OpenedLibraryFile,
  openLibraryFile,
  orientationFromRotation,
  probeVideo,
  readOpenedHeader,
  readPhotoMetadata,
  renderImageDerivatives,
  type SourceKind,
  sourceKindFromClassification,
  thumbPaths,
} from '@lumen/media';
import type { IngestRequest } from '../scan/library-scan.ts';

export interface IngestFileSettings {
  thumbnailsDir: string;
  thumbSize: number;
  previewSize: number;
  /** Limit of each step (hash, metadata, each decode), ms. */
  stepTimeoutMs: number;
  /** Longest wait for room in the decode memory budget, ms; default stepTimeoutMs. */
  decodeQueueTimeoutMs?: number;
  exiftool: ExiftoolProcess | false;
}

/** What the preview lane needs to make the preview later. */
export interface PreviewSource {
  absPath: string;
  contentHash: string;
  /** The decode path when known; the renderer detects it otherwise. */
  kind?: SourceKind;
  orientation: number | null;
  durationSec: number | null;
}

export interface IngestedFile {
  row: ImageExifInput;
  /** Set when the thumbnail is made and the preview is still to do. */
  preview?: PreviewSource;
  /** What went wrong, for the log (also in row.ingest_error). */
  problem?: string;
}

/**
 * Facts gathered so far: when the per-file time limit strikes, the row is written from these
 * (with the hash, so the `.unsupported` sentinel can be keyed by it).
 */
export interface IngestState {
  mediaType?: MediaType;
  mimeType?: string | null;
  contentHash?: string;
}

/**
 * Ingest one file: type by extension and magic bytes, content hash, metadata (EXIF for photos and
 * RAW, ffprobe for videos), thumbnail. Returns the row to store, or undefined when the file is
 * gone. Never throws for a bad file: its problem ends up in `ingest_error` and the thumbnail
 * status ('unsupported' with a sentinel, or 'failed').
 */
export async function ingestFile(
  req: IngestRequest,
  settings: IngestFileSettings,
  state: IngestState,
  signal: AbortSignal,
): Promise<IngestedFile | undefined> {
  const source = await openSource(req);
  if (source === undefined) return undefined;
  try {
    return await ingestOpened(req, source, settings, state, signal);
  } finally {
    await source.close();
  }
}

/**
 * The file opened under its library's root and checked (openLibraryFile); undefined when it is gone,
 * or leads out of the library (a symlink, or a folder swapped for one): such a file is not ingested.
 */
async function openSource(req: IngestRequest): Promise<OpenedLibraryFile | undefined> {
  let opened: OpenedLibraryFile;
  try {
    opened = await openLibraryFile(req.library.root, req.relPath);
  } catch (err) {
    if (err instanceof PathError || isGone(err)) return undefined;
    throw err;
  }
  if (!opened.stats.isFile()) {
    await opened.close();
    return undefined;
  }
  return opened;
}

/**
 * Every reader (hash, exifr, exiftool, ffprobe, sharp, ffmpeg) gets `source.procPath`: the opened,
 * checked file itself, whatever its path leads to meanwhile.
 */
async function ingestOpened(
  req: IngestRequest,
  source: OpenedLibraryFile,
  settings: IngestFileSettings,
  state: IngestState,
  signal: AbortSignal,
): Promise<IngestedFile | undefined> {
  const header = await readHeader(source);
  if (header === undefined) return undefined;
  const classification = classifyFile(req.fileName, header);
  // The scan only sends files with a media extension, so the extension's type is always known.
  const mediaType: MediaType = classification.supported
    ? classification.mediaType
    : (classification.extensionMediaType ?? 'photo');
  const mimeType = classification.supported ? classification.mime : null;
  state.mediaType = mediaType;
  state.mimeType = mimeType;

  const base = baseRow(req, mediaType, mimeType);
  let contentHash: string;
  try {
    // Bounded by the per-file limit (in `signal`) only: a large video on a slow mount needs longer than a step.
    contentHash = await hashFile(source.procPath, { signal });
  } catch (err) {
    if (isGone(err)) return undefined;
    const problem = `hash: ${errorMessage(err)}`;
    return {
      row: { ...base, thumb_status: 'failed', preview_status: 'failed', ingest_error: problem },
      problem,
    };
  }
  state.contentHash = contentHash;
  base.content_hash = contentHash;

  if (!classification.supported) {
    await writeSentinel(settings.thumbnailsDir, contentHash);
    return {
      row: {
        ...base,
        thumb_status: 'unsupported',
        preview_status: 'unsupported',
        ingest_error: classification.reason,
      },
      problem: classification.reason,
    };
  }

  const kind = sourceKindFromClassification(classification);
  const problems: string[] = [];
  let orientation: number | null = null;
  let durationSec: number | null = null;
  if (mediaType === 'video') {
    try {
      const probe = await probeVideo(source.procPath, { timeoutMs: settings.stepTimeoutMs });
      durationSec = probe.durationSec;
      orientation = orientationFromRotation(probe.rotation);
      Object.assign(base, {
        camera_make: probe.make,
        camera_model: probe.model,
        width: probe.width,
        height: probe.height,
        orientation,
        gps_lat: probe.gpsLat,
        gps_lon: probe.gpsLon,
        gps_alt: probe.gpsAlt,
        duration_sec: probe.durationSec,
        video_codec: probe.videoCodec,
        audio_codec: probe.audioCodec,
        ...(probe.creationTime
          ? {
              date_taken: probe.creationTime,
              date_taken_offset: probe.creationTimeOffset,
              date_taken_source: 'video',
            }
          : {}),
      } satisfies Partial<ImageExifInput>);
    } catch (err) {
      problems.push(`ffprobe: ${errorMessage(err)}`);
    }
  } else {
    const meta = await readPhotoMetadata(source.procPath, {
      mtimeMs: req.mtimeMs,
      kind,
      timeoutMs: settings.stepTimeoutMs,
      exiftool: settings.exiftool,
    });
    if (meta.error) problems.push(`metadata: ${meta.error}`);
    orientation = meta.orientation;
    Object.assign(base, {
      camera_make: meta.cameraMake,
      camera_model: meta.cameraModel,
      lens_model: meta.lensModel,
      width: meta.width,
      height: meta.height,
      orientation: meta.orientation,
      gps_lat: meta.gpsLat,
      gps_lon: meta.gpsLon,
      gps_alt: meta.gpsAlt,
      focal_length: meta.focalLength,
      aperture: meta.aperture,
      exposure_time: meta.exposureTime,
      iso: meta.iso,
      date_taken: meta.dateTaken,
      date_taken_offset: meta.dateTakenOffset,
      date_taken_source: meta.dateTakenSource,
    } satisfies Partial<ImageExifInput>);
  }
  if (signal.aborted) throw signal.reason;

  const render = await renderImageDerivatives({
    absPath: source.procPath,
    fileName: req.fileName,
    contentHash,
    thumbnailsDir: settings.thumbnailsDir,
    targets: ['thumb'],
    kind,
    ...(mediaType === 'raw' && orientation !== null ? { orientation } : {}),
    durationSec,
    thumbSize: settings.thumbSize,
    previewLongSide: settings.previewSize,
    timeoutMs: settings.stepTimeoutMs,
    decodeQueueTimeoutMs: settings.decodeQueueTimeoutMs ?? settings.stepTimeoutMs,
    exiftool: settings.exiftool,
  });
  let thumbStatus: ThumbStatus;
  let previewStatus: ThumbStatus;
  let preview: PreviewSource | undefined;
  if (render.status === 'ready') {
    thumbStatus = 'ready';
    if (await exists(thumbPaths(settings.thumbnailsDir, contentHash).preview)) previewStatus = 'ready';
    else {
      previewStatus = 'pending';
      preview = { absPath: req.absPath, contentHash, kind, orientation, durationSec };
    }
  } else if (render.status === 'unsupported') {
    thumbStatus = 'unsupported';
    previewStatus = 'unsupported';
    problems.push(`thumbnail: ${render.reason}`);
  } else {
    thumbStatus = 'failed';
    previewStatus = 'failed';
    problems.push(`thumbnail: ${render.error}`);
  }
  const problem = problems.length > 0 ? problems.join('; ') : undefined;
  return {
    row: { ...base, thumb_status: thumbStatus, preview_status: previewStatus, ingest_error: problem ?? null },
    ...(preview ? { preview } : {}),
    ...(problem ? { problem } : {}),
  };
}

/** The row of a file whose ingest threw or ran out of time: what is known, marked failed. */
export function failedRow(req: IngestRequest, state: IngestState, message: string): ImageExifInput {
  return {
    ...baseRow(req, state.mediaType ?? 'photo', state.mimeType ?? null),
    content_hash: state.contentHash ?? null,
    thumb_status: 'failed',
    preview_status: 'failed',
    ingest_error: message,
  };
}

/**
 * Mark a content hash as unsupported with the zero-byte sentinel next to where its thumbnail
 * would be (SPEC 2): later scans do not retry it; deleting the sentinel forces a retry.
 */
export async function writeSentinel(thumbnailsDir: string, contentHash: string): Promise<void> {
  const sentinel = thumbPaths(thumbnailsDir, contentHash).unsupported;
  await fs.mkdir(path.dirname(sentinel), { recursive: true });
  await fs.writeFile(sentinel, '');
}

function baseRow(req: IngestRequest, mediaType: MediaType, mimeType: string | null): ImageExifInput {
  return {
    library_id: req.library.id,
    rel_path: req.relPath,
    dir: req.dir,
    file_name: req.fileName,
    media_type: mediaType,
    mime_type: mimeType,
    size_bytes: req.size,
    mtime_ms: storedMtimeMs(req.mtimeMs),
    content_hash: null,
    date_taken: new Date(storedMtimeMs(req.mtimeMs)).toISOString(),
    date_taken_source: 'mtime',
  };
}

async function readHeader(source: OpenedLibraryFile): Promise<Uint8Array | undefined> {
  try {
    return await readOpenedHeader(source.handle, Math.max(256, MAGIC_HEADER_BYTES));
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

function isGone(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
