import { describe, expect, it } from 'vitest';
import { type ByteRange, contentRange, parseByteRange, unsatisfiedRange } from '../src/http/byte-range.ts';

describe('parseByteRange', () => {
  const full: ByteRange = { kind: 'full' };
  const none: ByteRange = { kind: 'unsatisfiable' };
  const part = (start: number, end: number): ByteRange => ({ kind: 'partial', start, end });

  it.each<[string | undefined, number, ByteRange]>([
    [undefined, 1000, full],
    ['bytes=0-99', 1000, part(0, 99)],
    ['bytes=100-199', 1000, part(100, 199)],
    ['bytes=0-0', 1000, part(0, 0)],
    ['bytes=999-999', 1000, part(999, 999)],
    ['bytes=500-', 1000, part(500, 999)],
    ['bytes=0-', 1000, part(0, 999)],
    ['bytes=900-5000', 1000, part(900, 999)], // end past the file is clamped
    ['bytes=0-99999999999999999999999', 1000, part(0, 999)],
    ['bytes=-100', 1000, part(900, 999)], // the last 100 bytes
    ['bytes=-5000', 1000, part(0, 999)], // a suffix longer than the file: all of it
    ['BYTES = 10 - 19', 1000, part(10, 19)], // case and optional whitespace
    ['bytes=1000-', 1000, none], // first byte past the end
    ['bytes=999999999-', 1000, none],
    ['bytes=99999999999999999999999-', 1000, none],
    ['bytes=1000-2000', 1000, none],
    ['bytes=-0', 1000, none],
    ['bytes=0-99', 0, none], // nothing of an empty file can be sent
    ['bytes=-1', 0, none],
    ['bytes=200-100', 1000, full], // invalid range-spec: ignored
    ['bytes=-', 1000, full],
    ['bytes=0-99,200-299', 1000, full], // several ranges: the whole file instead
    ['items=0-99', 1000, full], // another unit
    ['bytes=abc', 1000, full],
    ['bytes 0-99', 1000, full],
    ['', 1000, full],
  ])('%s of %i bytes -> %o', (header, size, expected) => {
    expect(parseByteRange(header, size)).toEqual(expected);
  });
});

describe('Content-Range values', () => {
  it('names the sent bytes and the size', () => {
    expect(contentRange(0, 99, 1234)).toBe('bytes 0-99/1234');
  });
  it('names only the size when nothing can be sent', () => {
    expect(unsatisfiedRange(1234)).toBe('bytes */1234');
  });
});
