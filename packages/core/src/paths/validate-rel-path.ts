import { PathError, type PathErrorCode } from './path-error.ts';

/**
 * Pure validation of a path a client sent, relative to a library root.
 *
 * The input is the string as the HTTP layer handed it over (already URL-decoded once). A valid
 * path comes back normalized: posix separators, no leading or trailing `/`, no empty or `.`
 * segments (`./a//b/` -> `a/b`). Rejected, with a stable code:
 * - `path.empty`: nothing left after normalizing, unless `allowRoot` (then `''` is the root);
 * - `path.absolute`: a leading `/`, or a Windows drive letter (`C:`, `c:\x`, `C:foo`);
 * - `path.traversal`: any `..` segment (even one that would stay inside), a segment of only dots and
 *   spaces such as `...` or `.. ` (Windows and SMB servers trim those to `..`), or a path that turns
 *   into one of these after Unicode NFKC normalization (fullwidth `．．／`, one-dot leaders);
 * - `path.nul`: a NUL byte, raw or as `%00`;
 * - `path.control-char`: C0/C1 control characters and DEL;
 * - `path.backslash`: any `\` (Windows separator, UNC paths);
 * - `path.encoded`: a percent escape that survived decoding and encodes something dangerous:
 *   `.`, `/`, `\`, `%` (double encoding like `%252e`), control bytes, any non-ASCII byte (covers
 *   overlong UTF-8 such as `%c0%ae`), or IIS-style `%u002e`. Harmless escapes like `%20` are kept
 *   literally, so a file really named `100%20.jpg` still works;
 * - `path.invalid`: not a string, lone UTF-16 surrogates, or U+FFFD (bytes that were not UTF-8);
 * - `path.too-long`: more than 4096 characters, or a segment over 255 UTF-8 bytes.
 */

export type RelPathResult =
  | { ok: true; relPath: string }
  | { ok: false; code: PathErrorCode; reason: string };

export interface RelPathOptions {
  /** Accept a path that normalizes to `''` (the library root). Default false. */
  allowRoot?: boolean;
}

export const MAX_REL_PATH_LENGTH = 4096;
export const MAX_SEGMENT_BYTES = 255;

const utf8 = new TextEncoder();

function fail(code: PathErrorCode, reason: string): RelPathResult {
  return { ok: false, code, reason };
}

function describeChar(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Escapes that decode to something we must not see twice decoded. */
function encodedProblem(input: string): RelPathResult | undefined {
  if (/%u[0-9a-f]{4}/i.test(input)) return fail('path.encoded', 'contains a %u escape');
  for (const m of input.matchAll(/%([0-9a-f]{2})/gi)) {
    const byte = Number.parseInt(m[1]!, 16);
    if (byte === 0) return fail('path.nul', 'contains an encoded NUL byte (%00)');
    const dangerous =
      byte < 0x20 ||
      byte === 0x7f ||
      byte >= 0x80 ||
      byte === 0x2e ||
      byte === 0x2f ||
      byte === 0x5c ||
      byte === 0x25;
    if (dangerous)
      return fail('path.encoded', `contains the percent escape ${m[0]} (encoded traversal or bytes)`);
  }
  return undefined;
}

/** Separator, absolute and `..` rules; applied to the input and to its NFKC form. */
function structuralProblem(value: string, viaNormalization: boolean): RelPathResult | undefined {
  const suffix = viaNormalization ? ' after Unicode normalization' : '';
  if (value.includes('\\')) {
    return fail(viaNormalization ? 'path.traversal' : 'path.backslash', `contains a backslash${suffix}`);
  }
  if (/^[a-z]:/i.test(value)) {
    return fail(viaNormalization ? 'path.traversal' : 'path.absolute', `starts with a drive letter${suffix}`);
  }
  if (value.startsWith('/')) {
    return fail(viaNormalization ? 'path.traversal' : 'path.absolute', `is absolute${suffix}`);
  }
  for (const segment of value.split('/')) {
    if (segment === '..') return fail('path.traversal', `contains a ".." segment${suffix}`);
    if (/^\.{2,}$/.test(segment.replaceAll(' ', ''))) {
      return fail('path.traversal', `contains the dots-only segment "${segment}"${suffix}`);
    }
  }
  return undefined;
}

export function validateRelPath(input: string, options: RelPathOptions = {}): RelPathResult {
  if (typeof input !== 'string') return fail('path.invalid', 'is not a string');
  if (input.length > MAX_REL_PATH_LENGTH) {
    return fail('path.too-long', `is longer than ${MAX_REL_PATH_LENGTH} characters`);
  }
  if (input.includes('\0')) return fail('path.nul', 'contains a NUL byte');
  const encoded = encodedProblem(input);
  if (encoded) return encoded;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  const control = /[\u0001-\u001f\u007f-\u009f]/.exec(input);
  if (control) return fail('path.control-char', `contains the control character ${describeChar(control[0])}`);
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(input)) {
    return fail('path.invalid', 'contains a lone UTF-16 surrogate');
  }
  if (input.includes('\uFFFD'))
    return fail('path.invalid', 'contains U+FFFD (bytes that were not valid UTF-8)');

  const structural = structuralProblem(input, false);
  if (structural) return structural;
  const normalized = input.normalize('NFKC');
  if (normalized !== input) {
    const lookalike = structuralProblem(normalized, true);
    if (lookalike) return lookalike;
  }

  const segments = input.split('/').filter((s) => s !== '' && s !== '.');
  for (const segment of segments) {
    if (utf8.encode(segment).length > MAX_SEGMENT_BYTES) {
      return fail('path.too-long', `has a name longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
  const relPath = segments.join('/');
  if (relPath === '' && !options.allowRoot) return fail('path.empty', 'is empty');
  return { ok: true, relPath };
}

/** `validateRelPath` that returns the normalized path or throws `PathError`. */
export function requireRelPath(input: string, options: RelPathOptions = {}): string {
  const result = validateRelPath(input, options);
  if (!result.ok) throw new PathError(result.code, `Path ${result.reason}`);
  return result.relPath;
}

/** `a/b/c.jpg` -> `{ dir: 'a/b', fileName: 'c.jpg' }`; a root-level file has `dir: ''`. */
export function splitRelPath(relPath: string): { dir: string; fileName: string } {
  const slash = relPath.lastIndexOf('/');
  return slash < 0
    ? { dir: '', fileName: relPath }
    : { dir: relPath.slice(0, slash), fileName: relPath.slice(slash + 1) };
}

/** Join a normalized dir (`''` = root) and a name: `joinRelPath('', 'a.jpg')` -> `a.jpg`. */
export function joinRelPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
