import fs from 'node:fs/promises';
import path from 'node:path';
import type { LibrarySpec } from '@lumen/core';

/**
 * `media.ingested` names a file by `{library, relPath}`; the transcoder has no database, so it maps
 * library names to roots from its own configuration and checks that the result stays inside.
 */
export type LibraryRoots = ReadonlyMap<string, string>;

export function libraryRootsFrom(libraries: readonly LibrarySpec[]): LibraryRoots {
  return new Map(libraries.map((library) => [library.name, path.resolve(library.root)]));
}

export class LibraryPathError extends Error {
  override name = 'LibraryPathError';
}

function inside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/**
 * The absolute path of `relPath` in `library`: the library must be known, the path must not climb
 * out lexically (`..`, absolute) nor through a symlink, and the file must exist. Throws
 * LibraryPathError saying which rule failed.
 */
export async function resolveLibraryFile(
  roots: LibraryRoots,
  library: string,
  relPath: string,
): Promise<string> {
  const root = roots.get(library);
  if (!root) throw new LibraryPathError(`unknown library "${library}"`);
  if (relPath.includes('\0') || path.isAbsolute(relPath)) {
    throw new LibraryPathError(`path "${relPath}" is not relative`);
  }
  const absPath = path.resolve(root, relPath);
  if (!inside(root, absPath) || absPath === root) {
    throw new LibraryPathError(`path "${relPath}" leaves library "${library}"`);
  }
  let realRoot: string;
  let realFile: string;
  try {
    realRoot = await fs.realpath(root);
    realFile = await fs.realpath(absPath);
  } catch (err) {
    throw new LibraryPathError(
      `path "${relPath}" in library "${library}" cannot be read: ${(err as Error).message}`,
    );
  }
  if (!inside(realRoot, realFile)) {
    throw new LibraryPathError(`path "${relPath}" leaves library "${library}" through a symlink`);
  }
  return absPath;
}
