import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MultipartError,
  MultipartReader,
  multipartBoundary,
  parseHeaderParams,
} from '../src/http/multipart-stream.ts';

const BOUNDARY = '----LumenBoundary7MA4YWxkTrZu0gW';

interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  body: Buffer;
}

/** A multipart/form-data body as a browser writes it. */
function encode(parts: Part[], boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), part.body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** The bytes as a web stream, cut into pieces of the given sizes (cycled). */
function streamOf(bytes: Buffer, sizes: number[]): ReadableStream<Uint8Array> {
  let offset = 0;
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      const size = Math.max(1, sizes[i++ % sizes.length]!);
      controller.enqueue(new Uint8Array(bytes.subarray(offset, offset + size)));
      offset += size;
    },
  });
}

async function readAll(
  stream: ReadableStream<Uint8Array>,
  boundary = BOUNDARY,
): Promise<{ name: string; filename: string | undefined; contentType: string | undefined; body: Buffer }[]> {
  const reader = new MultipartReader(stream, boundary);
  const out = [];
  for (let part = await reader.nextPart(); part; part = await reader.nextPart()) {
    const chunks: Buffer[] = [];
    for await (const chunk of reader.readBody()) chunks.push(chunk);
    out.push({
      name: part.name,
      filename: part.filename,
      contentType: part.contentType,
      body: Buffer.concat(chunks),
    });
  }
  return out;
}

const file = randomBytes(200_000);
// Content that looks like the delimiter without being it, in the worst places.
const tricky = Buffer.concat([
  Buffer.from(`\r\n--${BOUNDARY.slice(0, -1)}`),
  Buffer.from('\r\n--'),
  Buffer.from(`--${BOUNDARY}`), // no CRLF before it: not a delimiter
  Buffer.from('\r\n\r\n'),
  Buffer.from(`\r\n-${BOUNDARY}`),
]);
const PARTS: Part[] = [
  { name: 'library', body: Buffer.from('main') },
  { name: 'folder', body: Buffer.from('2024/été') },
  { name: 'empty', body: Buffer.alloc(0) },
  { name: 'file', filename: 'IMG 0001.jpg', contentType: 'image/jpeg', body: file },
  { name: 'tricky', filename: 'tricky.bin', body: tricky },
];

describe('MultipartReader', () => {
  it.each([
    ['one chunk', [10_000_000]],
    ['1-byte chunks', [1]],
    ['2- and 3-byte chunks', [2, 3]],
    ['7-byte chunks', [7]],
    ['chunks of the delimiter length +-1', [BOUNDARY.length + 3, BOUNDARY.length + 4, BOUNDARY.length + 5]],
    ['64 KiB chunks', [65_536]],
    ['odd chunks', [1, 1000, 13, 4096, 3, 70_001]],
  ])('reads every part intact with %s', async (_label, sizes) => {
    const body = encode(PARTS);
    // 1-byte chunks of 200 KB are slow-ish; the file is smaller for them.
    const parts =
      sizes[0] === 1
        ? PARTS.map((p) => (p.name === 'file' ? { ...p, body: file.subarray(0, 5000) } : p))
        : PARTS;
    const result = await readAll(streamOf(sizes[0] === 1 ? encode(parts) : body, sizes));
    expect(result.map((p) => p.name)).toEqual(parts.map((p) => p.name));
    for (const [i, part] of parts.entries()) {
      expect(result[i]!.filename).toBe(part.filename);
      expect(result[i]!.contentType).toBe(part.contentType);
      expect(result[i]!.body.equals(part.body), `body of ${part.name}`).toBe(true);
    }
  });

  it('skips a part that is not read, and reads text fields', async () => {
    const reader = new MultipartReader(streamOf(encode(PARTS), [999]), BOUNDARY);
    const names: string[] = [];
    let folder = '';
    for (let part = await reader.nextPart(); part; part = await reader.nextPart()) {
      names.push(part.name);
      if (part.name === 'folder') folder = await reader.readText(100);
    }
    expect(names).toEqual(['library', 'folder', 'empty', 'file', 'tricky']);
    expect(folder).toBe('2024/été');
  });

  it('accepts a preamble, transport padding after a boundary and an epilogue', async () => {
    const body = Buffer.concat([
      Buffer.from('This is a preamble.\r\n'),
      Buffer.from(`--${BOUNDARY}  \t\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n`),
      Buffer.from(`--${BOUNDARY}--  \r\nepilogue`),
    ]);
    const result = await readAll(streamOf(body, [5]));
    expect(result).toEqual([
      { name: 'a', filename: undefined, contentType: undefined, body: Buffer.from('x') },
    ]);
  });

  it.each([
    ['no boundary at all', 'just some text', /no multipart boundary/],
    [
      'no closing boundary',
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nabc`,
      /ends inside a part/,
    ],
    ['headers cut off', `--${BOUNDARY}\r\nContent-Disposition: form-data; na`, /ends inside part headers/],
    ['no Content-Disposition', `--${BOUNDARY}\r\nX: y\r\n\r\nabc\r\n--${BOUNDARY}--`, /Content-Disposition/],
    ['no name', `--${BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--${BOUNDARY}--`, /no name/],
    ['garbage after a boundary', `--${BOUNDARY}xyz\r\n`, /not followed by a line break/],
    ['body ends after a boundary', `--${BOUNDARY}`, /ends right after a boundary/],
    [
      'a header line without a colon',
      `--${BOUNDARY}\r\nnot a header\r\n\r\nx\r\n--${BOUNDARY}--`,
      /has no name/,
    ],
  ])('rejects %s', async (_label, text, message) => {
    await expect(readAll(streamOf(Buffer.from(text), [3]))).rejects.toThrow(message);
    await expect(readAll(streamOf(Buffer.from(text), [3]))).rejects.toBeInstanceOf(MultipartError);
  });

  it('limits header size, part count and field length', async () => {
    const longHeader = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nX: ${'y'.repeat(20_000)}\r\n\r\nx\r\n--${BOUNDARY}--`;
    await expect(readAll(streamOf(Buffer.from(longHeader), [1000]))).rejects.toThrow(
      /longer than 16384 bytes/,
    );

    const many = encode(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, body: Buffer.from('x') })));
    const reader = new MultipartReader(streamOf(many, [100]), BOUNDARY, { maxParts: 3 });
    await expect(
      (async () => {
        while (await reader.nextPart()) {}
      })(),
    ).rejects.toThrow(/more than 3 parts/);

    const field = new MultipartReader(
      streamOf(encode([{ name: 'a', body: Buffer.alloc(100, 0x61) }]), [10]),
      BOUNDARY,
    );
    await field.nextPart();
    await expect(field.readText(99)).rejects.toThrow(/longer than 99 bytes/);
  });

  it('drains the rest of a body it stops reading, within its limits', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1000;
        controller.enqueue(new Uint8Array(1000));
      },
    });
    const reader = new MultipartReader(endless, BOUNDARY);
    const started = Date.now();
    await reader.drain(50_000, 5_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(pulled).toBeGreaterThanOrEqual(50_000);
    expect(pulled).toBeLessThan(60_000);
  });
});

describe('multipartBoundary', () => {
  it.each([
    [`multipart/form-data; boundary=${BOUNDARY}`, BOUNDARY],
    ['multipart/form-data; boundary="quoted boundary"', 'quoted boundary'],
    ['Multipart/Form-Data;charset=utf-8;BOUNDARY=abc', 'abc'],
    ['multipart/form-data', undefined],
    ['multipart/form-data; boundary=', undefined],
    [`multipart/form-data; boundary=${'x'.repeat(71)}`, undefined],
    ['multipart/mixed; boundary=abc', undefined],
    ['application/json', undefined],
    [undefined, undefined],
    ['multipart/form-data; boundary=a\u0001b', undefined],
  ])('%s -> %s', (header, boundary) => {
    expect(multipartBoundary(header)).toBe(boundary);
  });
});

describe('parseHeaderParams', () => {
  it.each([
    ['form-data; name="file"; filename="a b.jpg"', { name: 'file', filename: 'a b.jpg' }],
    ['form-data; name=file; filename=plain.jpg', { name: 'file', filename: 'plain.jpg' }],
    ['form-data; name="q"; filename="say \\"hi\\".jpg"', { name: 'q', filename: 'say "hi".jpg' }],
    [
      `form-data; name="f"; filename="fallback.jpg"; filename*=UTF-8''na%C3%AFve%20photo.jpg`,
      { name: 'f', filename: 'naïve photo.jpg' },
    ],
    ['form-data; name="a;b"', { name: 'a;b' }],
    ['form-data; name="f"; filename="C:\\Users\\me\\x.jpg"', { name: 'f', filename: 'C:\\Users\\me\\x.jpg' }],
    ['form-data; name="f"; filename="back\\\\slash.jpg"', { name: 'f', filename: 'back\\slash.jpg' }],
    ['form-data; NAME="upper"', { name: 'upper' }],
    ['form-data', {}],
    ["form-data; filename*=UTF-8''%E0%A4%A", {}],
  ])('%s', (header, params) => {
    expect(parseHeaderParams(header)).toEqual(params);
  });
});
