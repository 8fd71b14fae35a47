import fs from 'node:fs/promises';
import path from 'node:path';
import { isInsideRoot } from './opened-file-check.ts';
import { PathError } from './path-error.ts';
import { type RelPathOptions, validateRelPath } from './validate-rel-path.ts';

/**
 * The one place in core that touches the filesystem for paths: it validates `input` with
 * `validateRelPath`, then follows symlinks to make sure the path stays inside `root`.
 *
 * The deepest ancestor of the path that exists is realpath'ed (the path itself when it exists),
 * and the result must be the real root or lie under it, otherwise `path.symlink-escape`. A path
 * that does not exist yet is fine (uploads) as long as its existing ancestor is inside. An entry
 * on the way that exists but cannot be resolved is refused: a dangling symlink
 * (`path.symlink-dangling`, its target cannot be checked, and writing through it would create the
 * target wherever it points) or a symlink loop (`path.symlink-loop`). A root that cannot be
 * resolved gives `path.root-unavailable`; other I/O errors give `path.io`.
 *
 * `absPath` is the lexical path under `root` (as configured, symlinked root or not); `realPath`
 * is where it resolves to right now. A symlink swapped after this check is not caught here: code
 * that reads or writes the file opens it first and then checks the descriptor (`checkOpenedFile`,
 * and `openLibraryFile` / `openLibraryDir` in @lumen/media; docs/decisions.md, "Library files are
 * opened, then checked").
 */
export interface ResolvedPath {
  absPath: string;
  relPath: string;
  realPath: string;
  /** The root with its symlinks resolved: what an opened descriptor is checked against. */
  realRoot: string;
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

export async function resolveInsideRoot(
  root: string,
  input: string,
  options: RelPathOptions = {},
): Promise<ResolvedPath> {
  const validated = validateRelPath(input, options);
  if (!validated.ok) throw new PathError(validated.code, `Path ${validated.reason}`);
  const { relPath } = validated;

  const lexicalRoot = path.resolve(root);
  let realRoot: string;
  try {
    realRoot = await fs.realpath(lexicalRoot);
  } catch (err) {
    throw new PathError('path.root-unavailable', 'The library root cannot be resolved', { cause: err });
  }

  const segments = relPath === '' ? [] : relPath.split('/');
  const absPath = path.join(lexicalRoot, ...segments);
  let realExisting = realRoot;
  let existingDepth = 0;
  for (let depth = segments.length; depth > 0; depth--) {
    const candidate = path.join(lexicalRoot, ...segments.slice(0, depth));
    try {
      realExisting = await fs.realpath(candidate);
      existingDepth = depth;
      break;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ELOOP')
        throw new PathError('path.symlink-loop', `Path ${relPath} has a symlink loop`, { cause: err });
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new PathError('path.io', `Path ${relPath} cannot be resolved (${code ?? 'error'})`, {
          cause: err,
        });
      }
      if (await entryExists(candidate, relPath)) {
        throw new PathError(
          'path.symlink-dangling',
          `Path ${relPath} goes through a symlink whose target does not exist`,
        );
      }
    }
  }

  if (!isInsideRoot(realRoot, realExisting)) {
    throw new PathError(
      'path.symlink-escape',
      `Path ${relPath} leads outside the library root through a symlink`,
    );
  }
  return {
    absPath,
    relPath,
    realPath: path.join(realExisting, ...segments.slice(existingDepth)),
    realRoot,
  };
}

/** True when the entry itself exists (lstat: a dangling symlink exists, its target does not). */
async function entryExists(file: string, relPath: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw new PathError('path.io', `Path ${relPath} cannot be inspected (${code ?? 'error'})`, {
      cause: err,
    });
  }
}
