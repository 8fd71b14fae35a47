import { constants, type Stats } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  checkOpenedFile,
  PathError,
  type RelPathOptions,
  type ResolvedPath,
  resolveInsideRoot,
} from '@lumen/core';
import sharp from 'sharp';

/**
 * Library files are opened first and checked after: the descriptor, not the path, is what is
 * verified, so a folder swapped for a symlink between a check and a use cannot redirect a read or
 * a write (docs/decisions.md, "Library files are opened, then checked").
 *
 * Readers get a `procPath` (`/proc/<pid>/fd/<fd>`): opening it opens the very file the descriptor
 * holds, from this process or from a child (ffmpeg, ffprobe, exiftool, heif-convert), whatever
 * happens to the names meanwhile. Writers get a folder descriptor and create names inside it
 * through `<procPath>/<name>`, so the lookup of the name happens in that folder and no other.
 */

/** Never block on a FIFO or device that stands where a file was expected; never follow a final symlink. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export interface OpenedLibraryFile {
  handle: FileHandle;
  /** `/proc/<pid>/fd/<fd>`: the opened file itself, for sharp, exifr and child processes. */
  procPath: string;
  /** Where the file is (inside the real root), as the kernel named it at the check. */
  realPath: string;
  relPath: string;
  /** fstat of the descriptor. */
  stats: Stats;
  close(): Promise<void>;
}

export interface OpenedLibraryDir {
  handle: FileHandle;
  /** `/proc/<pid>/fd/<fd>`: names under it are looked up in this very folder. */
  procPath: string;
  realPath: string;
  /** Normalized, relative to the root ('' for the root). */
  relPath: string;
  realRoot: string;
  /** The descriptor's folder is still inside the real root (re-checked before publishing a file). */
  verify(): Promise<void>;
  close(): Promise<void>;
}

let sharpCacheOff = false;

/**
 * `/proc/<pid>/fd/<fd>` (not `/proc/self`: a child process must reach this process's descriptor).
 *
 * Descriptor numbers are reused once closed, so the same name stands for different files over
 * time. libvips caches operations by their arguments, file names included: a cached decode of
 * `/proc/<pid>/fd/27` would be handed out for the next file that got descriptor 27. So the first
 * such name turns sharp's operation cache off for the process (it only ever helped a file decoded
 * twice in a row; the watcher and the api rarely do that).
 */
export function descriptorPath(handle: FileHandle): string {
  if (!sharpCacheOff) {
    sharp.cache(false);
    sharpCacheOff = true;
  }
  return `/proc/${process.pid}/fd/${handle.fd}`;
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Throws a PathError unless the descriptor's file is inside `realRoot` and still at the path the
 * kernel gives for it (same device and inode). Returns that path and the descriptor's stats.
 */
export async function verifyDescriptor(
  handle: FileHandle,
  realRoot: string,
  relPath: string,
): Promise<{ realPath: string; stats: Stats }> {
  const [fdPath, stats] = await Promise.all([fs.readlink(`/proc/self/fd/${handle.fd}`), handle.stat()]);
  let atPath: Stats | undefined;
  try {
    atPath = await fs.lstat(fdPath);
  } catch {
    atPath = undefined;
  }
  const check = checkOpenedFile({ realRoot, fdPath, fd: stats, atPath });
  if (!check.ok) throw new PathError(check.code, `Path ${relPath}: ${check.reason}`);
  return { realPath: fdPath, stats };
}

async function openChecked(file: string, flags: number, relPath: string): Promise<FileHandle> {
  try {
    return await fs.open(file, flags);
  } catch (err) {
    // The path was symlink-free when it was resolved: a symlink there now was put in meanwhile.
    if (errnoCode(err) === 'ELOOP') {
      throw new PathError('path.changed', `Path ${relPath} became a symlink while it was opened`, {
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * Open a library file for reading, by the rules of `resolveInsideRoot` (symlinks that stay inside
 * the library are followed; a path leading out is refused with its PathError code), then verify the
 * descriptor: the file it holds must be inside the real root, else `path.symlink-escape`, or
 * `path.changed` when the file moved while it was opened. File-system errors (ENOENT, EACCES, ...)
 * are thrown as they are. The caller closes it.
 */
export async function openLibraryFile(
  root: string,
  input: string,
  options: RelPathOptions & { resolved?: ResolvedPath } = {},
): Promise<OpenedLibraryFile> {
  const resolved = options.resolved ?? (await resolveInsideRoot(root, input, options));
  const handle = await openChecked(resolved.realPath, READ_FLAGS, resolved.relPath);
  try {
    const { realPath, stats } = await verifyDescriptor(handle, resolved.realRoot, resolved.relPath);
    return {
      handle,
      procPath: descriptorPath(handle),
      realPath,
      relPath: resolved.relPath,
      stats,
      close: () => handle.close().catch(() => {}),
    };
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
}

/**
 * Open a file by an absolute path that was checked before (a job's `sourcePath`), verified to be
 * that very path now: the descriptor's real path must equal `realPath` (so nothing on the way was
 * swapped for a symlink) and lie inside `realRoot` when one is known.
 */
export async function openCheckedPath(realPath: string, realRoot?: string): Promise<OpenedLibraryFile> {
  const handle = await openChecked(realPath, READ_FLAGS, realPath);
  try {
    const { realPath: fdPath, stats } = await verifyDescriptor(
      handle,
      realRoot ?? path.dirname(realPath),
      path.basename(realPath),
    );
    if (fdPath !== realPath) {
      throw new PathError('path.changed', `Path ${path.basename(realPath)} is not where it was checked`);
    }
    return {
      handle,
      procPath: descriptorPath(handle),
      realPath: fdPath,
      relPath: path.basename(realPath),
      stats,
      close: () => handle.close().catch(() => {}),
    };
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
}

/**
 * Open (and with `create`, make) a folder of a library for writing. The folder is resolved by the
 * rules of `resolveInsideRoot`, then reached one name at a time from a descriptor of the real root,
 * each step looked up inside the folder before it (`<procPath>/<name>`) and opened without following
 * a symlink; missing folders are made the same way. So a folder swapped for a symlink anywhere on
 * the way is refused (`path.changed`), never followed; the last descriptor is verified like a file.
 * A name on the way that is a file gives ENOTDIR.
 */
export async function openLibraryDir(
  root: string,
  input: string,
  options: { create?: boolean } = {},
): Promise<OpenedLibraryDir> {
  const resolved = await resolveInsideRoot(root, input, { allowRoot: true });
  const { realRoot, relPath } = resolved;
  const steps = path.relative(realRoot, resolved.realPath).split(path.sep).filter(Boolean);
  let handle = await fs.open(realRoot, DIR_FLAGS);
  try {
    for (const name of steps) {
      const next = `${descriptorPath(handle)}/${name}`;
      if (options.create) {
        try {
          await fs.mkdir(next);
        } catch (err) {
          if (errnoCode(err) !== 'EEXIST') throw err;
        }
      }
      const opened = await openChecked(next, DIR_FLAGS, relPath);
      await handle.close().catch(() => {});
      handle = opened;
    }
    const dir = handle;
    const verify = async () => {
      await verifyDescriptor(dir, realRoot, relPath);
    };
    const { realPath } = await verifyDescriptor(dir, realRoot, relPath);
    return {
      handle: dir,
      procPath: descriptorPath(dir),
      realPath,
      relPath,
      realRoot,
      verify,
      close: () => dir.close().catch(() => {}),
    };
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
}

/** Create `name` in the folder exclusively (never through a symlink, never over a file), for writing. */
export async function createInDir(dir: OpenedLibraryDir, name: string, mode = 0o644): Promise<FileHandle> {
  if (name.includes('/') || name === '.' || name === '..') throw new Error(`"${name}" is not a plain name`);
  return fs.open(
    `${dir.procPath}/${name}`,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    mode,
  );
}

/** Read the first `length` bytes of an opened file (fewer when it is shorter). */
export async function readOpenedHeader(handle: FileHandle, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, 0);
  return buffer.subarray(0, bytesRead);
}
