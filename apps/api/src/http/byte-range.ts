/**
 * HTTP `Range` requests on a file of known size (RFC 9110 section 14), one range at a time.
 *
 * - no header, a unit other than `bytes`, a malformed header or several ranges: `full` (a server
 *   may always ignore Range and answer 200 with the whole file; multipart/byteranges is not offered);
 * - `bytes=a-b`, `bytes=a-` and `bytes=-n` (the last n bytes): `partial` with inclusive `start`/`end`,
 *   `end` clamped to the last byte;
 * - a first byte at or past the end of the file (or `bytes=-0`, or any range of an empty file):
 *   `unsatisfiable` (answered with 416 and the `unsatisfiedRange` Content-Range).
 */
export type ByteRange =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

const SINGLE_RANGE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;

export function parseByteRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return { kind: 'full' };
  const match = SINGLE_RANGE.exec(header.trim());
  if (!match) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'full' };

  if (first === '') {
    const suffix = Number(last); // a suffix longer than the file (however long) means all of it
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }

  const start = Number(first);
  if (!Number.isSafeInteger(start)) return { kind: 'unsatisfiable' };
  if (last !== '') {
    const end = Number(last); // past the end (however far) is clamped below
    if (end < start) return { kind: 'full' }; // invalid range-spec: ignore the header
    if (start >= size) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start, end: Math.min(end, size - 1) };
  }
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: size - 1 };
}

/** `Content-Range` of a partial response: `bytes 0-99/1234`. */
export function contentRange(start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`;
}

/** `Content-Range` of a 416 response: an asterisk for the range, then the size. */
export function unsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}
