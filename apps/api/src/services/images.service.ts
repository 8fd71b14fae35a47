import fs from 'node:fs/promises';
import type { Config } from '@lumen/core';
import {
  classifyFile,
  MAGIC_HEADER_BYTES,
  type MediaType,
  PathError,
  type ResolvedPath,
  resolveInsideRoot,
  validateRelPath,
} from '@lumen/core';
import { type Database, ImageExifRepository, type ImageExifRow, type LibraryRow } from '@lumen/db';
import {
  contentHashHex,
  type DerivativeTarget,
  errorMessage,
  hashFile,
  type OpenedLibraryFile,
  openLibraryFile,
  readOpenedHeader,
  type SourceKind,
  thumbPaths,
} from '@lumen/media';
import { ProblemError } from '../http/problem.ts';
import { DerivativeRenderer } from './derivative-renderer.ts';
import type { ImageMetrics } from './image-metrics.ts';
import type { LibrariesService } from './libraries.service.ts';

/** Hashing a file the watcher has not ingested yet, to find or make its thumbnail. */
export const ON_DEMAND_HASH_TIMEOUT_MS = 60_000;
/** Limit of each decode step of a thumbnail or preview made on demand. */
export const ON_DEMAND_RENDER_TIMEOUT_MS = 30_000;
/** Seconds a client should wait before asking again after a transient failure. */
export const RETRY_AFTER_SECONDS = 30;
/** Seconds a client should wait when the decode memory budget had no room in time. */
export const DECODE_BUSY_RETRY_AFTER_SECONDS = 5;

/** A client path resolved inside its library, with the file's row when the watcher ingested it. */
export interface LocatedFile {
  library: LibraryRow;
  /** Normalized, relative to the library root. */
  relPath: string;
  /**
   * Where it resolved to when it was located (symlinks followed, checked to stay inside the root).
   * Not to be opened by this name: `ImagesService.open` opens it and checks the descriptor.
   */
  realPath: string;
  /** The check's result, reused by `open`. */
  resolved: ResolvedPath;
  /** Its row; `missing_since` is set when the watcher found the file gone (hidden, kept for a while). */
  row: (ImageExifRow & { missing_since: string | null }) | undefined;
}

/** The original, to stream: opened and checked (the caller sends or closes it). */
export interface OriginalFile {
  opened: OpenedLibraryFile;
  contentType: string;
  mediaType: MediaType | 'unknown';
}

/** What a thumbnail or preview is made from and keyed by. */
export interface DerivativeSource {
  contentHash: string;
  mediaType: MediaType | 'unknown';
  /** The file, opened and checked, when it had to be read (hashed); the caller closes it. */
  opened: OpenedLibraryFile | undefined;
  kind: SourceKind | undefined;
  orientation: number | null;
  durationSec: number | null;
}

export interface ImageMetadata {
  library: { id: number; name: string };
  path: string;
  media_type: string;
  mime_type: string | null;
  size_bytes: number;
  /** ISO-8601 UTC. */
  mtime: string;
  content_hash: string | null;
  camera_make: string | null;
  camera_model: string | null;
  lens_model: string | null;
  width: number | null;
  height: number | null;
  orientation: number | null;
  gps: { lat: number; lon: number; alt: number | null } | null;
  focal_length: number | null;
  aperture: number | null;
  exposure_time: number | null;
  iso: number | null;
  date_taken: string | null;
  date_taken_offset: string | null;
  date_taken_source: string | null;
  duration_sec: number | null;
  video_codec: string | null;
  audio_codec: string | null;
  thumb_status: string;
  preview_status: string;
  missing_since: string | null;
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True for the errors of a file (or a folder on its way) that is not there. */
export function isMissingFileError(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The problem for a file that could not be opened: 404 missing, 403 unreadable, else 503. */
export function fileProblem(err: unknown, what: string): ProblemError {
  if (isMissingFileError(err)) return new ProblemError('not-found', `${what} does not exist`);
  const code = errnoCode(err);
  if (code === 'EACCES' || code === 'EPERM') {
    return new ProblemError('forbidden', `${what} cannot be read by the server (${code})`);
  }
  return new ProblemError('unavailable', `${what} cannot be read right now (${code ?? errorMessage(err)})`, {
    headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  });
}

/**
 * A rejected client path as a problem: the rule codes are 400 `invalid-path` with the code first in
 * `detail` (`path.traversal: Path contains a ".." segment`) and in `errors[0].message`; a library
 * root that cannot be resolved (unmounted) or an I/O error is 503; a file that changed place while
 * it was opened (`path.changed`) is 409.
 */
export function pathProblem(err: PathError, library: LibraryRow): ProblemError {
  if (err.code === 'path.root-unavailable' || err.code === 'path.io') {
    return new ProblemError(
      'unavailable',
      `${err.code}: library "${library.name}" cannot be read right now`,
      {
        headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      },
    );
  }
  const detail = `${err.code}: ${err.message}`;
  if (err.code === 'path.changed') {
    // Not the client's fault: the file moved (a folder was renamed or swapped) while it was opened.
    return new ProblemError('conflict', detail);
  }
  return new ProblemError('invalid-path', detail, {
    errors: [{ in: 'query', name: 'path', message: detail }],
  });
}

/** The decode path for a media type (same rule as the watcher's ingest). */
function sourceKindFor(mediaType: string, mime: string | null | undefined): SourceKind | undefined {
  if (mediaType === 'raw') return 'raw';
  if (mediaType === 'video') return 'video';
  if (mediaType !== 'photo') return undefined;
  return mime === 'image/heic' || mime === 'image/heif' ? 'heif' : 'image';
}

function knownMediaType(value: string): MediaType | 'unknown' {
  return value === 'photo' || value === 'raw' || value === 'video' ? value : 'unknown';
}

function derivativeEtag(contentHash: string, target: DerivativeTarget): string {
  return `"${contentHashHex(contentHash)}-${target}"`;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

export interface ImagesServiceDeps {
  libraries: LibrariesService;
  images: ImageExifRepository;
  renderer: DerivativeRenderer;
  thumbnailsDir: string;
}

/**
 * Serving images: finds the file a request names (library by id or name, path through core's rules),
 * the original to stream, the content-addressed thumbnail or preview (made on demand when the watcher
 * has not made it yet), and the stored metadata. The api never writes `image_exif`: the watcher owns
 * it, and finds the derivatives the api made when it gets to the file.
 */
export class ImagesService {
  constructor(private readonly deps: ImagesServiceDeps) {}

  /** 404 for an unknown library; 400/503 for a refused path (see pathProblem). The file need not exist. */
  async locate(libraryParam: string | undefined, pathParam: string): Promise<LocatedFile> {
    const library = await this.deps.libraries.resolve(libraryParam);
    let resolved: Awaited<ReturnType<typeof resolveInsideRoot>>;
    try {
      resolved = await resolveInsideRoot(library.root, pathParam);
    } catch (err) {
      if (err instanceof PathError) throw pathProblem(err, library);
      throw err;
    }
    const row = await this.deps.images.findByPathOrMissing(Number(library.id), resolved.relPath);
    return { library, relPath: resolved.relPath, realPath: resolved.realPath, resolved, row };
  }

  /**
   * Open the located file for reading and check what was opened (openLibraryFile): a file that
   * moved out of the library (a folder swapped for a symlink meanwhile) is refused like a path that
   * leads out (400 `path.symlink-escape`), one that moved while it was opened is 409 `path.changed`;
   * 404 when it is not there or not a regular file. The caller closes it.
   */
  async open(file: LocatedFile): Promise<OpenedLibraryFile> {
    const what = `"${file.relPath}" in library "${file.library.name}"`;
    let opened: OpenedLibraryFile;
    try {
      opened = await openLibraryFile(file.library.root, file.relPath, { resolved: file.resolved });
    } catch (err) {
      if (err instanceof PathError) throw pathProblem(err, file.library);
      throw fileProblem(err, what);
    }
    if (!opened.stats.isFile()) {
      await opened.close();
      throw new ProblemError('not-found', `"${file.relPath}" is not a file (a folder?)`);
    }
    return opened;
  }

  /**
   * The original file: 404 when it is not there or not a regular file, or when the watcher has not
   * ingested it and its content is no media format. Content type from the row, else from magic bytes.
   */
  async original(file: LocatedFile): Promise<OriginalFile> {
    const opened = await this.open(file);
    if (file.row) {
      return {
        opened,
        contentType: file.row.mime_type ?? 'application/octet-stream',
        mediaType: knownMediaType(file.row.media_type),
      };
    }
    try {
      const classification = await this.#classify(file, opened);
      if (!classification.supported) {
        throw new ProblemError(
          'not-found',
          `"${file.relPath}" is not a media file (${classification.reason})`,
        );
      }
      return { opened, contentType: classification.mime, mediaType: classification.mediaType };
    } catch (err) {
      await opened.close();
      throw err;
    }
  }

  /**
   * The content hash and decode facts of a file, for its thumbnail or preview: from its row, or, when
   * the watcher has not ingested (or could not hash) it yet, by hashing it now. 404 for a missing or
   * non-media file, 415 for a media-named file whose content no decoder knows.
   */
  async derivativeSource(file: LocatedFile): Promise<DerivativeSource> {
    const row = file.row;
    if (row?.content_hash) {
      return {
        contentHash: row.content_hash,
        mediaType: knownMediaType(row.media_type),
        opened: undefined,
        kind: sourceKindFor(row.media_type, row.mime_type),
        orientation: row.orientation,
        durationSec: row.duration_sec,
      };
    }
    const opened = await this.open(file);
    try {
      const classification = await this.#classify(file, opened);
      if (!classification.supported) {
        if (!row && classification.extensionMediaType === undefined) {
          throw new ProblemError(
            'not-found',
            `"${file.relPath}" is not a media file (${classification.reason})`,
          );
        }
        throw new ProblemError(
          'thumbnail-unsupported',
          `no thumbnail can be made of "${file.relPath}": ${classification.reason}`,
        );
      }
      let contentHash: string;
      try {
        // The opened file itself (its /proc/<pid>/fd path): the hash is of what was checked.
        contentHash = await hashFile(opened.procPath, { timeoutMs: ON_DEMAND_HASH_TIMEOUT_MS });
      } catch (err) {
        throw new ProblemError(
          'unavailable',
          `"${file.relPath}" is not ingested yet and cannot be hashed now (${errorMessage(err)}); the watcher will get to it`,
          { headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) } },
        );
      }
      return {
        contentHash,
        mediaType: classification.mediaType,
        opened,
        kind: sourceKindFor(classification.mediaType, classification.mime),
        orientation: row?.orientation ?? null,
        durationSec: row?.duration_sec ?? null,
      };
    } catch (err) {
      await opened.close();
      throw err;
    }
  }

  /** `"<hash hex>-thumb"` / `"<hash hex>-preview"`: the bytes of a derivative depend on the hash alone. */
  derivativeEtag(source: DerivativeSource, target: DerivativeTarget): string {
    return derivativeEtag(source.contentHash, target);
  }

  /**
   * Fast path for thumbnails and previews: the derivative the file's row marks `ready`, found from
   * the database alone. The path is checked lexically (validateRelPath) but not resolved on disk
   * (no realpath, no sentinel or existence check), because nothing of the library is read: the
   * derivative lives in the thumbnail store under the row's content hash. Rows exist only for files
   * the watcher ingested inside the root, and `/photos` hands out the same thumbnails; a library
   * whose mount dropped keeps its thumbnails. Undefined when there is no such row or the path is
   * refused: the caller then goes the full way (`locate`, `derivativeSource`, `derivative`), which
   * also answers when the file is not in the store after all.
   */
  async readyDerivative(
    libraryParam: string | undefined,
    pathParam: string,
    target: DerivativeTarget,
  ): Promise<{ path: string; etag: string; mediaType: MediaType | 'unknown' } | undefined> {
    const validated = validateRelPath(pathParam);
    if (!validated.ok) return undefined;
    const library = await this.deps.libraries.resolve(libraryParam);
    const row = await this.deps.images.findDerivativeState(Number(library.id), validated.relPath);
    const status = target === 'thumb' ? row?.thumb_status : row?.preview_status;
    if (!row?.content_hash || status !== 'ready') return undefined;
    return {
      path: thumbPaths(this.deps.thumbnailsDir, row.content_hash)[target],
      etag: derivativeEtag(row.content_hash, target),
      mediaType: knownMediaType(row.media_type),
    };
  }

  /**
   * The path of the thumbnail or preview, made now when it does not exist yet (one render per hash and
   * target however many requests wait for it). 415 `thumbnail-unsupported` when the `.unsupported`
   * sentinel exists or nothing can decode the file; 404 when the original is gone too; 503 when
   * reading it failed (maybe transient).
   */
  async derivative(source: DerivativeSource, target: DerivativeTarget, file: LocatedFile): Promise<string> {
    const { relPath } = file;
    const paths = thumbPaths(this.deps.thumbnailsDir, source.contentHash);
    if (await exists(paths.unsupported)) {
      throw new ProblemError(
        'thumbnail-unsupported',
        `no ${target} can be made of "${relPath}" (its .unsupported sentinel exists; delete it to retry)`,
      );
    }
    if (await exists(paths[target])) return paths[target];

    // The decoders read the opened, checked file through its /proc/<pid>/fd path: a folder swapped
    // for a symlink after the check cannot give them another file.
    const opened = source.opened ?? (await this.open(file));
    let result: Awaited<ReturnType<DerivativeRenderer['render']>>;
    try {
      result = await this.deps.renderer.render({
        absPath: opened.procPath,
        fileName: file.relPath,
        contentHash: source.contentHash,
        target,
        ...(source.kind ? { kind: source.kind } : {}),
        orientation: source.orientation,
        durationSec: source.durationSec,
      });
    } finally {
      if (opened !== source.opened) await opened.close();
    }
    if (result.status === 'ready') return result[target] ?? paths[target];
    if (result.status === 'unsupported') {
      throw new ProblemError(
        'thumbnail-unsupported',
        result.overBudget
          ? `no ${target} can be made of "${relPath}": decoding it needs more memory than the server's decode budget (DECODE_MEMORY_BUDGET_MB)`
          : `no ${target} can be made of "${relPath}": nothing decodes it`,
      );
    }
    if (result.busy) {
      throw new ProblemError(
        'unavailable',
        `the ${target} of "${relPath}" waits for other image decodes to finish (decode memory budget full); try again`,
        { headers: { 'Retry-After': String(DECODE_BUSY_RETRY_AFTER_SECONDS) } },
      );
    }
    throw new ProblemError('unavailable', `the ${target} of "${relPath}" could not be made right now`, {
      headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    });
  }

  /** The stored metadata; 404 while the watcher has not ingested the file. */
  metadata(file: LocatedFile): ImageMetadata {
    const row = file.row;
    if (!row) {
      throw new ProblemError(
        'not-found',
        `"${file.relPath}" is not in library "${file.library.name}" (not there, or not ingested yet)`,
      );
    }
    return {
      library: { id: Number(file.library.id), name: file.library.name },
      path: row.rel_path,
      media_type: row.media_type,
      mime_type: row.mime_type,
      size_bytes: Number(row.size_bytes),
      mtime: new Date(Number(row.mtime_ms)).toISOString(),
      content_hash: row.content_hash,
      camera_make: row.camera_make,
      camera_model: row.camera_model,
      lens_model: row.lens_model,
      width: row.width,
      height: row.height,
      orientation: row.orientation,
      gps:
        row.gps_lat !== null && row.gps_lon !== null
          ? { lat: row.gps_lat, lon: row.gps_lon, alt: row.gps_alt }
          : null,
      focal_length: row.focal_length,
      aperture: row.aperture,
      exposure_time: row.exposure_time,
      iso: row.iso,
      date_taken: row.date_taken,
      date_taken_offset: row.date_taken_offset,
      date_taken_source: row.date_taken_source,
      duration_sec: row.duration_sec,
      video_codec: row.video_codec,
      audio_codec: row.audio_codec,
      thumb_status: row.thumb_status,
      preview_status: row.preview_status,
      missing_since: row.missing_since,
    };
  }

  async #classify(file: LocatedFile, opened: OpenedLibraryFile): Promise<ReturnType<typeof classifyFile>> {
    try {
      return classifyFile(
        file.relPath,
        await readOpenedHeader(opened.handle, Math.max(256, MAGIC_HEADER_BYTES)),
      );
    } catch (err) {
      throw fileProblem(err, `"${file.relPath}" in library "${file.library.name}"`);
    }
  }
}

/** The images service over the app's database and config, its on-demand renders counted in `metrics`. */
export function createImagesService(
  deps: { database: Database; config: Config },
  libraries: LibrariesService,
  metrics: ImageMetrics,
): ImagesService {
  const { config } = deps;
  return new ImagesService({
    libraries,
    images: new ImageExifRepository(deps.database.db),
    thumbnailsDir: config.thumbnailsDir,
    renderer: new DerivativeRenderer({
      thumbnailsDir: config.thumbnailsDir,
      thumbSize: config.env.THUMB_SIZE,
      previewSize: config.env.PREVIEW_SIZE,
      timeoutMs: ON_DEMAND_RENDER_TIMEOUT_MS,
      decodeQueueTimeoutMs: config.env.DECODE_QUEUE_TIMEOUT_MS,
      rendered: metrics.rendered,
    }),
  });
}
