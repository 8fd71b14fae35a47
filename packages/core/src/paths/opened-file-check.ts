import path from 'node:path';
import type { PathErrorCode } from './path-error.ts';

/** True when `candidate` (an absolute, symlink-free path) is `realRoot` or lies under it. */
export function isInsideRoot(realRoot: string, candidate: string): boolean {
  if (!path.isAbsolute(candidate) || !path.isAbsolute(realRoot)) return false;
  if (candidate === realRoot) return true;
  const prefix = realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep;
  return candidate.startsWith(prefix);
}

/** Device and inode: what identifies a file whatever its name. */
export interface FileIdentity {
  dev: number | bigint;
  ino: number | bigint;
}

/** What was learnt about an opened descriptor, to decide whether it may be used. */
export interface OpenedFileFacts {
  /** The library root with its symlinks resolved. */
  realRoot: string;
  /** Where the descriptor's file is: the target of `/proc/self/fd/<fd>`. */
  fdPath: string;
  /** fstat of the descriptor. */
  fd: FileIdentity;
  /** lstat of `fdPath` (undefined when it could not be read: the file moved or was removed). */
  atPath: FileIdentity | undefined;
}

export type OpenedFileCheck = { ok: true } | { ok: false; code: PathErrorCode; reason: string };

/**
 * The rule for a descriptor opened under a library root (pure; the I/O is in @lumen/media's
 * `openLibraryFile`): the file the descriptor holds must be inside the real root, and the path the
 * kernel names for it must still be that very file (same device and inode). Whatever was swapped
 * on the way (a folder exchanged with a symlink, a final symlink), the opened file is what counts.
 * `/proc` marks a removed file ` (deleted)` and a file of another mount namespace has no reachable
 * name: both fail the second rule rather than being trusted by name.
 */
export function checkOpenedFile(facts: OpenedFileFacts): OpenedFileCheck {
  if (!isInsideRoot(facts.realRoot, facts.fdPath)) {
    return {
      ok: false,
      code: 'path.symlink-escape',
      reason: 'the opened file is outside the library root (a symlink or a swapped folder led there)',
    };
  }
  if (
    facts.atPath === undefined ||
    BigInt(facts.atPath.dev) !== BigInt(facts.fd.dev) ||
    BigInt(facts.atPath.ino) !== BigInt(facts.fd.ino)
  ) {
    return {
      ok: false,
      code: 'path.changed',
      reason: 'the file changed place while it was being opened',
    };
  }
  return { ok: true };
}
