import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MultipartError, MultipartReader, multipartBoundary } from '../src/http/multipart-stream.ts';

const BOUNDARY = '----LumenBoundary7MA4YWxkTrZu0gW';
const typeOf = (boundary: string) => `multipart/form-data; boundary=${boundary}`;

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
  const reader = new MultipartReader(stream, typeOf(boundary));
  const out = [];
  for (let part = await reader.nextPart(); part; part = await reader.nextPart()) {
    const chunks: Buffer[] = [];
    for await (const chunk of reader.readBody()) chunks.push(chunk);
    out.push({
      name: part.name,
      filename: part.filename,
      contentType: part.filename === undefined ? undefined : part.contentType,
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
  { name: 'tricky', filename: 'tricky.bin', contentType: 'application/octet-stream', body: tricky },
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
    const reader = new MultipartReader(streamOf(encode(PARTS), [999]), typeOf(BOUNDARY));
    const names: string[] = [];
    let folder = '';
    for (let part = await reader.nextPart(); part; part = await reader.nextPart()) {
      names.push(part.name);
      if (part.name === 'folder') folder = await reader.readText(100);
    }
    expect(names).toEqual(['library', 'folder', 'empty', 'file', 'tricky']);
    expect(folder).toBe('2024/été');
  });

  it('accepts a preamble and an epilogue', async () => {
    const body = Buffer.concat([
      Buffer.from('This is a preamble.\r\n'),
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n`),
      Buffer.from(`--${BOUNDARY}--  \r\nepilogue`),
    ]);
    const result = await readAll(streamOf(body, [5]));
    expect(result).toEqual([
      { name: 'a', filename: undefined, contentType: undefined, body: Buffer.from('x') },
    ]);
  });

  it.each([
    ['no boundary at all', 'just some text'],
    ['no closing boundary', `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nabc`],
    ['headers cut off', `--${BOUNDARY}\r\nContent-Disposition: form-data; na`],
    [
      'a file cut off',
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="a.jpg"\r\n\r\n${'x'.repeat(5000)}`,
    ],
    ['body ends after a boundary', `--${BOUNDARY}`],
  ])('rejects %s with a MultipartError', async (_label, text) => {
    await expect(readAll(streamOf(Buffer.from(text), [3]))).rejects.toBeInstanceOf(MultipartError);
  });

  it('skips parts that are not form-data', async () => {
    const text = `--${BOUNDARY}\r\nX: y\r\n\r\nabc\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--${BOUNDARY}--`;
    expect((await readAll(streamOf(Buffer.from(text), [3]))).map((p) => p.name)).toEqual(['a']);
  });

  it('reads file names as UTF-8, plain or RFC 5987, and keeps the path a client sent', async () => {
    const head = (disposition: string) =>
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; ${disposition}\r\n\r\nx\r\n`);
    const body = Buffer.concat([
      head('filename="été 📷.jpg"'),
      head(`filename="fallback.jpg"; filename*=UTF-8''na%C3%AFve%20photo.jpg`),
      head('filename="C:\\Users\\me\\x.jpg"'),
      head('filename="tab\there.jpg"'),
      Buffer.from(`--${BOUNDARY}--\r\n`),
    ]);
    expect((await readAll(streamOf(body, [7]))).map((p) => p.filename)).toEqual([
      'été 📷.jpg',
      'naïve photo.jpg',
      'C:\\Users\\me\\x.jpg',
      'tab\there.jpg',
    ]);
  });

  it('limits header size, part count and field length', async () => {
    const longHeader = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nX: ${'y'.repeat(20_000)}\r\n\r\nx\r\n--${BOUNDARY}--`;
    await expect(readAll(streamOf(Buffer.from(longHeader), [1000]))).rejects.toBeInstanceOf(MultipartError);

    const many = encode(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, body: Buffer.from('x') })));
    const reader = new MultipartReader(streamOf(many, [100]), typeOf(BOUNDARY), { maxParts: 3 });
    await expect(
      (async () => {
        while (await reader.nextPart()) {}
      })(),
    ).rejects.toThrow(/more than 3 parts/);
    const exactly = new MultipartReader(streamOf(many, [100]), typeOf(BOUNDARY), { maxParts: 5 });
    let parts = 0;
    while (await exactly.nextPart()) parts++;
    expect(parts).toBe(5);

    const field = new MultipartReader(
      streamOf(encode([{ name: 'a', body: Buffer.alloc(100, 0x61) }]), [10]),
      typeOf(BOUNDARY),
    );
    await field.nextPart();
    await expect(field.readText(99)).rejects.toThrow(/longer than 99 bytes/);
    const capped = new MultipartReader(
      streamOf(encode([{ name: 'a', body: Buffer.alloc(100, 0x61) }]), [10]),
      typeOf(BOUNDARY),
      { maxFieldBytes: 50 },
    );
    await capped.nextPart();
    await expect(capped.readText(1000)).rejects.toThrow(/longer than 50 bytes/);
  });

  it('drains the rest of a body it stops reading, within its limits', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1000;
        controller.enqueue(new Uint8Array(1000));
      },
    });
    const reader = new MultipartReader(endless, typeOf(BOUNDARY));
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
