import { Readable } from 'node:stream';
import busboy from 'busboy';

/**
 * Streaming `multipart/form-data` for uploads, parsed by busboy (the parser most of the Node
 * ecosystem relies on: security-sensitive parsing is where we want the most-used code). This file
 * only turns busboy's events into the pull interface the upload service reads parts with, one after
 * the other, a file's content chunk by chunk as it arrives (busboy holds the body back until the
 * chunk is taken), so a file of any size passes through a small, bounded buffer:
 *
 *   const reader = new MultipartReader(request.body, contentType, { maxParts: 16 });
 *   for (let part = await reader.nextPart(); part; part = await reader.nextPart()) {
 *     if (part.filename === undefined) console.log(part.name, await reader.readText(4096));
 *     else for await (const chunk of reader.readBody()) await file.write(chunk);
 *   }
 *
 * `nextPart()` skips whatever is left of the current part. A malformed body, one that ends early,
 * too many parts or a field over its limit throw `MultipartError`.
 */

/** The body is not the multipart document its Content-Type announced. */
export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

export interface MultipartPart {
  /** From `Content-Disposition: form-data; name="..."` ('' when the part has none). */
  name: string;
  /** From `filename` (or `filename*`, RFC 5987), as sent (UTF-8); undefined for a plain field. */
  filename: string | undefined;
  /** The part's Content-Type (`text/plain` when it names none). */
  contentType: string;
}

export interface MultipartLimits {
  /** Parts in the whole body. Default 100. */
  maxParts?: number;
  /** Bytes of one text field. Default 1 MiB. */
  maxFieldBytes?: number;
}

/**
 * The boundary of a `multipart/form-data` Content-Type, or undefined when the type is another one
 * or names no usable boundary (1-70 characters, RFC 2046). The gate before a body is parsed.
 */
export function multipartBoundary(contentType: string | undefined | null): string | undefined {
  if (!contentType) return undefined;
  const [type, ...params] = contentType.split(';');
  if (type?.trim().toLowerCase() !== 'multipart/form-data') return undefined;
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
    let value = param.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (value.length < 1 || value.length > 70 || /[^\u0020-\u007e]/.test(value)) return undefined;
    return value;
  }
  return undefined;
}

type Entry =
  | { kind: 'field'; part: MultipartPart; value: string; truncated: boolean; taken: boolean }
  | { kind: 'file'; part: MultipartPart; stream: Readable; taken: boolean };

export class MultipartReader {
  private readonly source: Readable;
  private readonly parser: busboy.Busboy;
  private readonly maxParts: number;
  private readonly maxFieldBytes: number;
  private readonly queue: Entry[] = [];
  private current: Entry | undefined;
  private parts = 0;
  private failure: MultipartError | undefined;
  private finished = false;
  private drained = false;
  private wake: (() => void) | undefined;

  constructor(body: ReadableStream<Uint8Array>, contentType: string, limits: MultipartLimits = {}) {
    this.maxParts = limits.maxParts ?? 100;
    this.maxFieldBytes = limits.maxFieldBytes ?? 1024 * 1024;
    try {
      this.parser = busboy({
        headers: { 'content-type': contentType },
        // Browsers send file names as raw UTF-8 in the quoted parameter.
        defParamCharset: 'utf8',
        // The service takes the last segment itself (and refuses what it would not list).
        preservePath: true,
        // One more than allowed, so the part too many is seen (and refused) but nothing after it.
        limits: { parts: this.maxParts + 1, fieldSize: this.maxFieldBytes + 1 },
      });
    } catch (err) {
      throw new MultipartError((err as Error).message);
    }
    this.parser.on('field', (name, value, info) => {
      this.push({
        kind: 'field',
        part: { name: name ?? '', filename: undefined, contentType: info.mimeType },
        value,
        truncated: info.valueTruncated,
        taken: false,
      });
    });
    this.parser.on('file', (name, stream, info) => {
      // Its errors reach the reader through the stream's iterator or `failure`; never unhandled.
      stream.on('error', () => {});
      this.push({
        kind: 'file',
        part: { name: name ?? '', filename: info.filename, contentType: info.mimeType },
        stream,
        taken: false,
      });
    });
    this.parser.on('error', (err: Error) => this.fail(new MultipartError(err.message)));
    this.parser.on('close', () => {
      this.finished = true;
      this.notify();
    });
    this.source = Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
    this.source.on('error', (err) =>
      this.fail(new MultipartError(`the body cannot be read: ${err.message}`)),
    );
    this.source.pipe(this.parser);
  }

  /** The next part (skipping the rest of the current one), or null after the closing boundary. */
  async nextPart(): Promise<MultipartPart | null> {
    const current = this.current;
    if (current?.kind === 'file' && !current.taken) {
      current.taken = true;
      await skip(current.stream);
    }
    for (;;) {
      if (this.failure) throw this.failure;
      const next = this.queue.shift();
      if (next) {
        this.parts++;
        if (this.parts > this.maxParts) {
          this.fail(new MultipartError(`the body has more than ${this.maxParts} parts`));
          continue;
        }
        this.current = next;
        return next.part;
      }
      if (this.finished) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** The content of the current part, chunk by chunk, as it arrives. */
  async *readBody(): AsyncGenerator<Buffer> {
    const entry = this.current;
    if (!entry || entry.taken) return;
    entry.taken = true;
    if (entry.kind === 'field') {
      if (entry.truncated) throw this.fieldTooLong(this.maxFieldBytes);
      if (entry.value.length > 0) yield Buffer.from(entry.value, 'utf8');
      return;
    }
    try {
      for await (const chunk of entry.stream) yield chunk as Buffer;
    } catch (err) {
      throw this.failure ?? new MultipartError((err as Error).message);
    }
    if (this.failure) throw this.failure;
  }

  /** The current part as UTF-8 text; MultipartError when it is longer than `maxBytes`. */
  async readText(maxBytes: number): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.readBody()) {
      size += chunk.length;
      if (size > maxBytes) throw this.fieldTooLong(maxBytes);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /**
   * Stop parsing, then read and drop the rest of the body, at most `maxBytes` or `maxMs` (after a
   * refused upload: a client still sending usually reads the answer only once its body is taken).
   */
  async drain(maxBytes: number, maxMs: number): Promise<void> {
    if (this.drained) return;
    this.drained = true;
    this.failure ??= new MultipartError('the body was not read to its end');
    this.source.unpipe(this.parser);
    this.parser.destroy();
    const source = this.source;
    if (source.readableEnded || source.destroyed) return;
    await new Promise<void>((resolve) => {
      let dropped = 0;
      const done = (stop: boolean) => {
        clearTimeout(timer);
        source.off('data', onData);
        source.off('end', onEnd);
        source.off('error', onEnd);
        if (stop) source.destroy();
        resolve();
      };
      const onData = (chunk: Buffer) => {
        dropped += chunk.length;
        if (dropped > maxBytes) done(true);
      };
      const onEnd = () => done(false);
      const timer = setTimeout(() => done(true), maxMs);
      source.on('data', onData);
      source.once('end', onEnd);
      source.once('error', onEnd);
      source.resume();
    });
  }

  private fieldTooLong(maxBytes: number): MultipartError {
    return new MultipartError(`a field is longer than ${maxBytes} bytes`);
  }

  private push(entry: Entry): void {
    this.queue.push(entry);
    this.notify();
  }

  private fail(error: MultipartError): void {
    this.failure ??= error;
    const current = this.current;
    if (current?.kind === 'file') current.stream.destroy(this.failure);
    for (const entry of this.queue) if (entry.kind === 'file') entry.stream.resume();
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** Read a part's stream to its end (or its error) and drop it. */
function skip(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded || stream.destroyed) return resolve();
    stream.once('end', resolve);
    stream.once('error', () => resolve());
    stream.once('close', resolve);
    stream.resume();
  });
}
