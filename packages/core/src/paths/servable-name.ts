import type { PathErrorCode } from './path-error.ts';
import { MAX_REL_PATH_LENGTH, MAX_SEGMENT_BYTES, validateRelPath } from './validate-rel-path.ts';

/**
 * The one rule for which file names Lumen lists: a path is servable when the API's own path
 * validation (`validateRelPath`, applied to every `path` a client sends) accepts it exactly as it
 * is, without normalizing it. The watcher ingests only servable paths and skips the others with a
 * logged reason and a counter; uploads refuse names that are not servable. So whatever `/photos`
 * lists, a client can send back to fetch, tag or favorite it.
 *
 * Not servable, for example: control characters (newline, tab), names whose bytes were not UTF-8
 * (they reach JavaScript as U+FFFD and cannot be opened by that string), backslashes, percent
 * escapes that decode to something dangerous (`a%2e.jpg`), dots-only names, a root-level name that
 * looks like a drive letter (`c:x.jpg`), names over 255 bytes.
 */
export type ServableResult = { ok: true } | { ok: false; code: PathErrorCode; reason: string };

const OK: ServableResult = { ok: true };

/** Printable ASCII but `%` and `\`: nothing the path rules look at inside a name, NFKC-stable. */
const PLAIN_ASCII = /^[\x20-\x24\x26-\x5b\x5d-\x7e]+$/;
const DRIVE_LETTER = /^[a-z]:/i;
const DOTS_AND_SPACES = /^[. ]+$/;

/**
 * The common case, decided without the full validation (the watcher asks for every file of every
 * scan): plain ASCII segments that are not empty, `.`, dots and spaces only, or too long. Anything
 * else goes the full way; a test checks both ways agree.
 */
function plainlyServable(relPath: string): boolean {
  if (relPath.length > MAX_REL_PATH_LENGTH || !PLAIN_ASCII.test(relPath)) return false;
  if (relPath.charCodeAt(0) === 0x2f || DRIVE_LETTER.test(relPath)) return false;
  let start = 0;
  for (;;) {
    const slash = relPath.indexOf('/', start);
    const end = slash < 0 ? relPath.length : slash;
    const length = end - start;
    if (length === 0 || length > MAX_SEGMENT_BYTES) return false;
    const first = relPath.charCodeAt(start);
    if ((first === 0x2e || first === 0x20) && DOTS_AND_SPACES.test(relPath.slice(start, end))) return false;
    if (slash < 0) return true;
    start = slash + 1;
  }
}

/** `relPath` (posix, relative to a library root; `''` is the root) as the API would accept it. */
export function servableRelPath(relPath: string): ServableResult {
  if (plainlyServable(relPath)) return OK;
  const result = validateRelPath(relPath, { allowRoot: true });
  if (!result.ok) return { ok: false, code: result.code, reason: result.reason };
  if (result.relPath !== relPath) {
    return {
      ok: false,
      code: 'path.invalid',
      reason: `is not in normal form (the API reads it as "${result.relPath}")`,
    };
  }
  return OK;
}

/** One file or folder name (a single path segment). */
export function servableName(name: string): ServableResult {
  if (name === '' || name === '.' || name.includes('/')) {
    return { ok: false, code: 'path.invalid', reason: 'is not a single file name' };
  }
  return servableRelPath(name);
}
