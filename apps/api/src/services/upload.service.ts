import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Bus } from '@lumen/bus';
import {
  classifyFile,
  type FileClassification,
  formatFromExtension,
  joinRelPath,
  MAGIC_HEADER_BYTES,
  type MediaUploadedEvent,
  PathError,
  parsePayload,
  SCRIPTABLE_SNIFF_BYTES,
  servableName,
  sniffScriptable,
  subjects,
  uploadTempName,
  withTimeout,
} from '@lumen/core';
import type { LibraryRow } from '@lumen/db';
import { createInDir, type OpenedLibraryDir, openLibraryDir } from '@lumen/media';
import type { Logger } from '@lumen/runtime';
import { MultipartError, MultipartReader, multipartBoundary } from '../http/multipart-stream.ts';
import { ProblemError } from '../http/problem.ts';
import type { LibrariesService } from './libraries.service.ts';

/** Room for the multipart framing and the small fields around the file, beyond UPLOAD_MAX_BYTES. */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
/** Longest text field (`library`, `folder`). */
const MAX_FIELD_BYTES = 8 * 1024;
/** Parts in one upload (the file and a few fields). */
const MAX_PARTS = 16;
/** Tries at `name_<seconds>_<n>.ext` before giving up (only a flood of same-named uploads gets there). */
const MAX_NAME_ATTEMPTS = 1000;
/** After a refused upload, read (and drop) at most this much of the rest so the client gets the answer. */
const DRAIN_MAX_BYTES = 16 * 1024 * 1024;
const DRAIN_MAX_MS = 2_000;
/** Publishing the ingest request may take this long; after that the next scan picks the file up. */
const PUBLISH_TIMEOUT_MS = 5_000;

/** What `POST /image` answers (201). */
export interface UploadResult {
  library: string;
  library_id: number;
  /** Where the file is now, relative to the library root. */
  path: string;
  /** Its final name (the one sent, or `name_<unix-seconds>.ext` when that was taken). */
  name: string;
  /** The name was taken, so the file got a suffix. */
  renamed: boolean;
  size_bytes: number;
  media_type: string;
  mime_type: string;
  /** `requested`: the watcher was asked to ingest it now; `next-scan`: the bus was unreachable. */
  ingest: 'requested' | 'next-scan';
}

export interface UploadServiceDeps {
  libraries: LibrariesService;
  bus: Bus;
  logger: Logger;
  /** UPLOAD_MAX_BYTES: the largest file accepted. */
  maxBytes: number;
  /** Where a file is staged when the multipart body sends it before `library`/`folder` (DATA_DIR/upload-staging). */
  stagingDir: string;
}

/** Where a file goes: a folder inside a library, checked and created. */
interface Target {
  library: LibraryRow;
  /** Normalized, relative to the root ('' for the root). */
  folder: string;
  /**
   * The folder, opened and checked inside the root (openLibraryDir). Files are created and published
   * through its `/proc/<pid>/fd/<fd>/<name>` paths: in this folder, whatever its name leads to now.
   */
  dir: OpenedLibraryDir;
}

/** A file written to a temporary name, not yet visible under its final name. */
interface ReceivedFile {
  tempPath: string;
  /** The name it should get (cleaned, with a media extension). */
  name: string;
  size: number;
  classification: Extract<FileClassification, { supported: true }>;
  /** Already in the target folder (else in the staging folder). */
  inTarget: boolean;
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function invalid(name: string, message: string, location = 'body'): ProblemError {
  return new ProblemError('validation', `${name}: ${message}`, { errors: [{ in: location, name, message }] });
}

/**
 * The file name a client sent, as the name to store: only its last segment (some clients send a
 * whole path), Unicode NFC. 400 naming `file` for a name that is empty, hidden (starts with `.`),
 * or breaks the path rules (control characters, too long, ...).
 */
export function uploadFileName(sent: string | undefined): string {
  if (sent === undefined) throw invalid('file', 'the file part has no filename');
  const base = sent
    .slice(Math.max(sent.lastIndexOf('/'), sent.lastIndexOf('\\')) + 1)
    .normalize('NFC')
    .trim();
  if (base === '' || base === '.' || base === '..') throw invalid('file', 'the file name is empty');
  if (base.startsWith('.')) throw invalid('file', `"${base}" is a hidden file name (starts with ".")`);
  // The rule the watcher lists by: a name it would skip is refused here.
  const checked = servableName(base);
  if (!checked.ok) throw invalid('file', `the file name ${checked.reason}`);
  return base;
}

/**
 * The name with a media extension: kept when it has one, else the content's own extension is
 * appended (`scan` holding a JPEG becomes `scan.jpeg`), so the watcher's scans see the file.
 */
export function nameWithMediaExtension(name: string, classification: { format: string }): string | undefined {
  if (formatFromExtension(name)) return name;
  const withFormat = `${name}.${classification.format}`;
  return formatFromExtension(withFormat)?.format === classification.format ? withFormat : undefined;
}

/** `IMG_1.jpg` -> `IMG_1_1717243200.jpg`, then `IMG_1_1717243200_2.jpg`, ... */
export function clashName(name: string, unixSeconds: number, attempt: number): string {
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : '';
  return `${stem}_${unixSeconds}${attempt > 1 ? `_${attempt}` : ''}${ext}`;
}

/**
 * Uploads (`POST /image`): the multipart body is read as a stream and the file written to disk as
 * it arrives (never whole in memory), within UPLOAD_MAX_BYTES (413 beyond it, the partial file
 * removed). Its first bytes decide its type (415 when no media format matches). It is written under
 * a temporary name in the target folder and then published under its final name without ever
 * replacing a file: an existing name gets `_<unix-seconds>` (and a counter if need be). Then the
 * watcher is asked over the bus (a `media.uploaded` job: one watcher replica takes it, also one
 * started later) to ingest it at once; the api itself never writes image_exif.
 *
 * The fields `library` and `folder` should come before `file` (or be given as query parameters):
 * then the file streams straight into the library. Sent after it, the file is staged in DATA_DIR
 * first and copied over at the end.
 */
export class UploadService {
  constructor(private readonly deps: UploadServiceDeps) {}

  async upload(request: Request, params: { library?: string; folder?: string }): Promise<UploadResult> {
    const contentType = request.headers.get('content-type');
    if (!contentType || !multipartBoundary(contentType)) {
      throw new ProblemError(
        'unsupported-media-type',
        'send the upload as multipart/form-data (fields: file, library, folder)',
        {
          errors: [
            { in: 'header', name: 'Content-Type', message: 'must be multipart/form-data with a boundary' },
          ],
        },
      );
    }
    const declared = Number(request.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > this.deps.maxBytes + MULTIPART_OVERHEAD_BYTES) {
      throw this.tooLarge();
    }
    if (!request.body) throw invalid('file', 'the request has no body');

    const reader = new MultipartReader(request.body, contentType, {
      maxParts: MAX_PARTS,
      maxFieldBytes: MAX_FIELD_BYTES,
    });
    const fields: { library?: string; folder?: string } = { ...params };
    let target: Target | undefined;
    let received: ReceivedFile | undefined;
    let published = false;
    try {
      for (let part = await reader.nextPart(); part; part = await reader.nextPart()) {
        if (part.name === 'file') {
          if (received) throw invalid('file', 'send one file per request');
          const name = uploadFileName(part.filename);
          if (fields.library !== undefined && fields.folder !== undefined) {
            target = await this.target(fields.library, fields.folder);
          }
          received = await this.receive(reader, name, target?.dir);
        } else if (part.name === 'library' || part.name === 'folder') {
          const value = await reader.readText(MAX_FIELD_BYTES);
          if (fields[part.name] !== undefined) {
            throw invalid(part.name, 'given more than once (as a field or a query parameter)');
          }
          fields[part.name] = value;
        } else {
          // Other fields (a client's own metadata) are read and dropped.
          await reader.readText(MAX_FIELD_BYTES);
        }
      }
      if (!received) throw invalid('file', 'the body has no "file" part');
      target ??= await this.target(fields.library, fields.folder ?? '');
      if (!received.inTarget) {
        received = await this.moveIntoTarget(received, target);
      }
      // The folder must still be inside the library (it could have been moved out meanwhile).
      await this.checkTarget(target);
      const finalName = await publishWithoutClobber(received.tempPath, target.dir.procPath, received.name);
      published = true;
      const relPath = joinRelPath(target.folder, finalName);
      const ingest = await this.requestIngest(target.library, relPath);
      this.deps.logger.info(
        {
          library: target.library.name,
          path: relPath,
          bytes: received.size,
          renamed: finalName !== received.name,
        },
        'upload stored',
      );
      return {
        library: target.library.name,
        library_id: Number(target.library.id),
        path: relPath,
        name: finalName,
        renamed: finalName !== received.name,
        size_bytes: received.size,
        media_type: received.classification.mediaType,
        mime_type: received.classification.mime,
        ingest,
      };
    } catch (err) {
      if (received && !published) await fs.rm(received.tempPath, { force: true }).catch(() => {});
      await drain(reader);
      if (err instanceof MultipartError) {
        throw invalid('file', `the multipart body is malformed: ${err.message}`);
      }
      if (request.signal.aborted && !(err instanceof ProblemError)) {
        throw new ProblemError('bad-request', 'the client closed the connection during the upload');
      }
      throw err;
    } finally {
      await target?.dir.close();
    }
  }

  /** The target folder, re-checked before a file is published into it. */
  private async checkTarget(target: Target): Promise<void> {
    try {
      await target.dir.verify();
    } catch (err) {
      if (err instanceof PathError) throw folderProblem(err, target.library);
      throw writeProblem(err, `folder "${target.folder}"`);
    }
  }

  /** The library (404 unknown, 503 Stale) and the folder inside it (400 naming `folder`), created. */
  private async target(libraryParam: string | undefined, folderParam: string): Promise<Target> {
    const library = await this.deps.libraries.resolve(libraryParam?.trim() || undefined);
    if (library.status === 'stale') {
      // An unmounted share looks like an empty folder: writing there would fill the local disk.
      throw new ProblemError(
        'unavailable',
        `library "${library.name}" is Stale (${library.status_reason ?? 'its root is not reachable'}); try again when it is back`,
        { headers: { 'Retry-After': '60' } },
      );
    }
    // Made and opened one folder at a time from the real root, never through a symlink that leads out.
    let dir: OpenedLibraryDir;
    try {
      dir = await openLibraryDir(library.root, folderParam, { create: true });
    } catch (err) {
      if (err instanceof PathError) throw folderProblem(err, library);
      const code = errnoCode(err);
      if (code === 'EEXIST' || code === 'ENOTDIR') {
        throw invalid('folder', `"${folderParam}" is a file, not a folder`);
      }
      throw writeProblem(err, `folder "${folderParam}"`);
    }
    return { library, folder: dir.relPath, dir };
  }

  /**
   * Write the current part to a temporary file (in `dir`, else the staging folder) as it arrives:
   * 413 past the size limit, 415 when its first bytes are no media format (either way the partial
   * file is removed).
   */
  private async receive(
    reader: MultipartReader,
    sentName: string,
    dir: OpenedLibraryDir | undefined,
  ): Promise<ReceivedFile> {
    const tempName = uploadTempName(randomBytes(8).toString('hex'));
    if (dir === undefined) await fs.mkdir(this.deps.stagingDir, { recursive: true });
    const tempPath = path.join(dir?.procPath ?? this.deps.stagingDir, tempName);
    let handle: fs.FileHandle;
    try {
      handle = dir ? await createInDir(dir, tempName) : await fs.open(tempPath, 'wx', 0o644);
    } catch (err) {
      throw writeProblem(err, dir === undefined ? 'the staging folder' : 'the target folder');
    }
    let size = 0;
    let header = Buffer.alloc(0);
    let classification: FileClassification | undefined;
    try {
      for await (const chunk of reader.readBody()) {
        size += chunk.length;
        if (size > this.deps.maxBytes) throw this.tooLarge();
        if (header.length < SCRIPTABLE_SNIFF_BYTES) {
          header = Buffer.concat([header, chunk.subarray(0, SCRIPTABLE_SNIFF_BYTES - header.length)]);
          if (header.length >= SCRIPTABLE_SNIFF_BYTES) refuseScriptable(sentName, header);
        }
        if (classification === undefined && header.length >= MAGIC_HEADER_BYTES) {
          classification = this.checkType(sentName, header);
        }
        try {
          await handle.write(chunk);
        } catch (err) {
          throw writeProblem(err, 'the upload');
        }
      }
      if (header.length < SCRIPTABLE_SNIFF_BYTES) refuseScriptable(sentName, header);
      classification ??= this.checkType(sentName, header);
      await handle.sync().catch(() => {});
    } catch (err) {
      await handle.close().catch(() => {});
      await fs.rm(tempPath, { force: true }).catch(() => {});
      throw err;
    }
    await handle.close();
    if (!classification.supported) throw new Error('unreachable: checkType accepts supported files only');
    const name = nameWithMediaExtension(sentName, classification);
    if (name === undefined) {
      await fs.rm(tempPath, { force: true });
      throw new ProblemError('unsupported-media-type', `"${sentName}" has no media file extension`);
    }
    return { tempPath, name, size, classification, inTarget: dir !== undefined };
  }

  /** 415 unless the first bytes are a media format the product handles. */
  private checkType(name: string, header: Buffer): Extract<FileClassification, { supported: true }> {
    const classification = classifyFile(name, header);
    if (!classification.supported) {
      throw new ProblemError(
        'unsupported-media-type',
        `"${name}" is not a photo or video: ${classification.reason}`,
        {
          errors: [{ in: 'body', name: 'file', message: classification.reason }],
        },
      );
    }
    return classification;
  }

  /** A staged file copied next to its destination (still under a temporary name). */
  private async moveIntoTarget(file: ReceivedFile, target: Target): Promise<ReceivedFile> {
    const tempPath = path.join(target.dir.procPath, uploadTempName(randomBytes(8).toString('hex')));
    try {
      await fs.copyFile(file.tempPath, tempPath, fsConstants.COPYFILE_EXCL);
    } catch (err) {
      await fs.rm(tempPath, { force: true }).catch(() => {});
      throw writeProblem(err, 'the target folder');
    } finally {
      await fs.rm(file.tempPath, { force: true }).catch(() => {});
    }
    return { ...file, tempPath, inTarget: true };
  }

  /** Ask the watcher to ingest the file now; false-y outcome when the bus does not answer in time. */
  private async requestIngest(library: LibraryRow, relPath: string): Promise<UploadResult['ingest']> {
    try {
      const event: MediaUploadedEvent = parsePayload(subjects.mediaUploaded, {
        libraryId: Number(library.id),
        library: library.name,
        relPath,
        at: new Date().toISOString(),
      });
      await withTimeout(
        this.deps.bus.enqueue(subjects.mediaUploaded, event),
        PUBLISH_TIMEOUT_MS,
        'enqueueing media.uploaded',
      );
      return 'requested';
    } catch (err) {
      this.deps.logger.warn(
        { err, library: library.name, path: relPath },
        'media.uploaded not enqueued; the next scan ingests the file',
      );
      return 'next-scan';
    }
  }

  private tooLarge(): ProblemError {
    return new ProblemError(
      'payload-too-large',
      `the file may not exceed ${this.deps.maxBytes} bytes (UPLOAD_MAX_BYTES)`,
      {
        headers: { Connection: 'close' },
      },
    );
  }
}

/**
 * Give the temporary file its final name without ever replacing a file: a hard link fails when the
 * name exists (then the next candidate name is tried), and the temporary name is removed after.
 * Where hard links are not supported (some network shares), the name is reserved by creating it
 * exclusively ('wx') and the file renamed over that reservation. Returns the name used.
 */
export async function publishWithoutClobber(tempPath: string, dir: string, name: string): Promise<string> {
  const seconds = Math.floor(Date.now() / 1000);
  for (let attempt = 0; attempt <= MAX_NAME_ATTEMPTS; attempt++) {
    const candidate = attempt === 0 ? name : clashName(name, seconds, attempt);
    const finalPath = path.join(dir, candidate);
    try {
      await fs.link(tempPath, finalPath);
      await fs.rm(tempPath, { force: true });
      return candidate;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EEXIST') continue;
      if (
        code !== 'EPERM' &&
        code !== 'ENOTSUP' &&
        code !== 'EOPNOTSUPP' &&
        code !== 'ENOSYS' &&
        code !== 'EXDEV'
      ) {
        throw writeProblem(err, 'the upload');
      }
    }
    // No hard links here: reserve the name, then move the file onto the reservation.
    try {
      const reservation = await fs.open(finalPath, 'wx', 0o644);
      await reservation.close();
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') continue;
      throw writeProblem(err, 'the upload');
    }
    await fs.rename(tempPath, finalPath);
    return candidate;
  }
  throw new ProblemError('conflict', `no free name for "${name}" after ${MAX_NAME_ATTEMPTS} attempts`);
}

/**
 * 415 `scriptable-content` when the first bytes look like HTML, SVG/XML or PDF, even behind a valid
 * image header (a JPEG/HTML polyglot): see sniffScriptable in @lumen/core.
 */
function refuseScriptable(name: string, head: Buffer): void {
  const verdict = sniffScriptable(head);
  if (!verdict.scriptable) return;
  const message = `its first bytes hold "${verdict.pattern}" at byte ${verdict.offset}, which a browser could run as HTML or script`;
  throw new ProblemError('scriptable-content', `"${name}" is refused: ${message}`, {
    errors: [{ in: 'body', name: 'file', message }],
  });
}

/** A folder refused by the path rules: 400 naming `folder`, 409 when it moved meanwhile, 503 when unreachable. */
function folderProblem(err: PathError, library: LibraryRow): ProblemError {
  if (err.code === 'path.root-unavailable' || err.code === 'path.io') {
    return new ProblemError(
      'unavailable',
      `${err.code}: library "${library.name}" cannot be written right now`,
      {
        headers: { 'Retry-After': '60' },
      },
    );
  }
  const message = `${err.code}: ${err.message}`;
  if (err.code === 'path.changed') return new ProblemError('conflict', message);
  return new ProblemError('invalid-path', message, { errors: [{ in: 'body', name: 'folder', message }] });
}

/** A failed write as a problem: 507-like conditions and I/O errors are 503 (retry later), 403 for permissions. */
function writeProblem(err: unknown, what: string): ProblemError {
  if (err instanceof ProblemError) return err;
  const code = errnoCode(err) ?? 'error';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new ProblemError('forbidden', `${what} cannot be written by the server (${code})`);
  }
  return new ProblemError('unavailable', `${what} cannot be written right now (${code})`, {
    headers: { 'Retry-After': '60' },
  });
}

/** Read and drop the rest of a refused body (bounded), so the client reads the answer instead of a reset. */
async function drain(reader: MultipartReader): Promise<void> {
  await reader.drain(DRAIN_MAX_BYTES, DRAIN_MAX_MS);
}
