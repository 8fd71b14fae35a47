import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCRIPTABLE_SNIFF_BYTES, sniffScriptable } from '../src/index.ts';

const CORPUS = path.resolve(import.meta.dirname, '../../../fixtures/corpus');

/** Bytes from latin1 strings and numbers. */
function bytes(...parts: (string | number | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') out.push(part);
    else if (Array.isArray(part)) out.push(...part);
    else for (const c of part) out.push(c.charCodeAt(0));
  }
  return new Uint8Array(out);
}

/** A JPEG start (SOI, APP0 JFIF) with a comment segment holding `comment`. */
function jpegWithComment(comment: string): Uint8Array {
  const app0 = [
    0xff,
    0xe0,
    0x00,
    0x10,
    ...'JFIF'.split('').map((c) => c.charCodeAt(0)),
    0,
    1,
    1,
    0,
    0,
    1,
    0,
    1,
    0,
    0,
  ];
  const length = comment.length + 2;
  return bytes([0xff, 0xd8], app0, [0xff, 0xfe, length >> 8, length & 0xff], comment, [0xff, 0xdb]);
}

function* corpusFiles(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* corpusFiles(full);
    else if (entry.isFile()) yield full;
  }
}

function head(file: string): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(SCRIPTABLE_SNIFF_BYTES);
    return new Uint8Array(buffer.subarray(0, fs.readSync(fd, buffer, 0, buffer.length, 0)));
  } finally {
    fs.closeSync(fd);
  }
}

describe('sniffScriptable: refused', () => {
  it.each<[string, Uint8Array, string]>([
    ['an HTML document', bytes('<!DOCTYPE html><html><body>hi</body></html>'), '<!doctype html'],
    ['lower-case html tag', bytes('<html>'), '<html'],
    ['a script tag after whitespace', bytes(' \t\r\n\f<SCRIPT>alert(1)</SCRIPT>'), '<script'],
    ['after a UTF-8 byte order mark', bytes([0xef, 0xbb, 0xbf], '<html lang="en">'), '<html'],
    ['a short tag at the start', bytes('<p>hello'), '<p'],
    ['an anchor at the start', bytes('<a href="x">'), '<a'],
    ['a bold tag with a space', bytes('<b class="x">'), '<b'],
    ['an HTML comment at the start', bytes('<!-- x -->'), '<!--'],
    ['an XML declaration', bytes('<?xml version="1.0"?><svg/>'), '<?xml'],
    ['an SVG document', bytes('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), '<svg'],
    ['a PDF', bytes('%PDF-1.7\n'), '%pdf-'],
    ['a JPEG/HTML polyglot (html in a comment)', jpegWithComment('<html><script>alert(1)</script>'), '<html'],
    ['a JPEG/HTML polyglot (script only)', jpegWithComment('x<script src=//e.example/x.js>'), '<script'],
    ['a JPEG with an iframe tag', jpegWithComment('<iframe/src=x>'), '<iframe'],
    ['a JPEG with an svg tag on a new line', jpegWithComment('<svg\nonload=alert(1)>'), '<svg'],
    ['a JPEG with an img tag', jpegWithComment('<IMG SRC=x onerror=alert(1)>'), '<img'],
    ['a JPEG with a doctype', jpegWithComment('<!doctype html>'), '<!doctype html'],
    ['a tag cut at the end of the bytes given', bytes([0xff, 0xd8, 0xff, 0xfe], '<script'), '<script'],
    [
      'a tag at the last sniffed byte',
      bytes([0xff, 0xd8], 'x'.repeat(SCRIPTABLE_SNIFF_BYTES - 9), '<script', 'ZZZ'),
      '<script',
    ],
  ])('%s', (_name, input, pattern) => {
    const verdict = sniffScriptable(input);
    expect(verdict).toMatchObject({ scriptable: true, pattern });
  });
});

describe('sniffScriptable: accepted', () => {
  it.each<[string, Uint8Array]>([
    ['empty', bytes()],
    ['a bare JPEG start', bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 'JFIF', 0)],
    ['a PNG signature', bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a])],
    ['a short tag inside binary data', jpegWithComment('<p <a <b <br')],
    ['a tag name that goes on', jpegWithComment('<htmlx <scripted <svgs')],
    ['html text without a tag', bytes('html script svg body')],
    ['a less-than sign and spaces', bytes('a < b and c > d')],
    ['xml declaration not at the start', jpegWithComment('<?xml version="1.0"?>')],
    [
      'an XMP packet',
      jpegWithComment(
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">',
      ),
    ],
    ['UTF-16 text with a byte order mark', bytes([0xff, 0xfe], '<\0h\0t\0m\0l\0>\0')],
    ['a tag after the sniffed bytes', bytes([0xff, 0xd8], 'x'.repeat(SCRIPTABLE_SNIFF_BYTES), '<html>')],
  ])('%s', (_name, input) => {
    expect(sniffScriptable(input)).toEqual({ scriptable: false });
  });

  it('passes every photo, RAW file and video of the test corpus', () => {
    const files = [...corpusFiles(CORPUS)].filter((f) => !/\.(md|json)$/.test(f));
    expect(files.length).toBeGreaterThan(10);
    const flagged = files.filter((f) => sniffScriptable(head(f)).scriptable);
    expect(flagged).toEqual([]);
  });
});
