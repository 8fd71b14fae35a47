/**
 * A streaming `multipart/form-data` reader (RFC 7578 over RFC 2046) for uploads: parts are read one
 * after the other straight from the request body, and a part's content is handed out chunk by chunk
 * as it arrives, so a file of any size passes through a small, bounded buffer. (hono's parseBody
 * buffers whole files in memory, and Node 20 has no streaming multipart parser built in.)
 *
 *   const reader = new MultipartReader(request.body, boundary);
 *   for (let part = await reader.nextPart(); part; part = await reader.nextPart()) {
 *     if (part.filename === undefined) console.log(part.name, await reader.readText(4096));
 *     else for await (const chunk of reader.readBody()) await file.write(chunk);
 *   }
 *
 * `nextPart()` skips whatever is left of the current part. The delimiter may be split across any
 * number of chunks; a part's content is emitted except for the last few bytes that could still be
 * the start of the delimiter.
 */

/** The body is not the multipart document its Content-Type announced. */
export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

export interface MultipartPart {
  /** From `Content-Disposition: form-data; name="..."`. */
  name: string;
  /** From `filename` (or `filename*`); undefined for a plain field. */
  filename: string | undefined;
  /** The part's Content-Type, when it has one. */
  contentType: string | undefined;
  /** Every header, by lower-case name. */
  headers: Record<string, string>;
}

export interface MultipartLimits {
  /** Bytes of one part's header block. Default 16 KiB. */
  maxHeaderBytes?: number;
  /** Parts in the whole body. Default 100. */
  maxParts?: number;
  /** Bytes before the first boundary (a preamble, normally none). Default 16 KiB. */
  maxPreambleBytes?: number;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * The boundary of a `multipart/form-data` Content-Type, or undefined when the type is another one
 * or names no usable boundary (1-70 characters, RFC 2046).
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

/**
 * Split a header parameter list (`form-data; name="a"; filename="b.jpg"`) into lower-case keys and
 * values. In quoted values `\"` and `\\` are escapes (other backslashes stay); `filename*=UTF-8''...` (RFC 5987)
 * is decoded and wins over `filename`.
 */
export function parseHeaderParams(value: string): Record<string, string> {
  const params: Record<string, string> = {};
  let i = value.indexOf(';');
  if (i < 0) return params;
  i++;
  while (i < value.length) {
    while (i < value.length && (value[i] === ' ' || value[i] === '\t' || value[i] === ';')) i++;
    const eq = value.indexOf('=', i);
    if (eq < 0) break;
    const key = value.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let text = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        // `\"` and `\\` are escapes; any other backslash is itself (old browsers send C:\path\name).
        if (value[i] === '\\' && (value[i + 1] === '"' || value[i + 1] === '\\')) i++;
        text += value[i];
        i++;
      }
      i++;
    } else {
      const end = value.indexOf(';', i);
      text = value.slice(i, end < 0 ? value.length : end).trim();
      i = end < 0 ? value.length : end;
    }
    if (key.endsWith('*')) {
      const decoded = decodeExtendedValue(text);
      if (decoded !== undefined) params[key.slice(0, -1)] = decoded;
    } else if (!(key in params)) {
      params[key] = text;
    }
  }
  return params;
}

/** `UTF-8''na%C3%AFve.jpg` -> `naïve.jpg`; undefined when it cannot be decoded. */
function decodeExtendedValue(text: string): string | undefined {
  const match = /^([\w!#$%&+^`{}~-]*)'[\w-]*'(.*)$/.exec(text);
  if (!match) return undefined;
  const charset = (match[1] ?? '').toLowerCase();
  if (charset !== 'utf-8' && charset !== '') return undefined;
  try {
    return decodeURIComponent(match[2] ?? '');
  } catch {
    return undefined;
  }
}

type ReaderState = 'preamble' | 'headers' | 'body' | 'done';

export class MultipartReader {
  private readonly source: ReadableStreamDefaultReader<Uint8Array>;
  /** `\r\n--boundary`: what ends a part's content. */
  private readonly delimiter: Buffer;
  private readonly limits: Required<MultipartLimits>;
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private state: ReaderState = 'preamble';
  private parts = 0;

  constructor(body: ReadableStream<Uint8Array>, boundary: string, limits: MultipartLimits = {}) {
    this.source = body.getReader();
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.limits = {
      maxHeaderBytes: limits.maxHeaderBytes ?? 16 * 1024,
      maxParts: limits.maxParts ?? 100,
      maxPreambleBytes: limits.maxPreambleBytes ?? 16 * 1024,
    };
  }

  /**
   * The next part's headers (skipping the rest of the current part), or null after the closing
   * boundary. Throws MultipartError for a malformed body, including one that ends early.
   */
  async nextPart(): Promise<MultipartPart | null> {
    if (this.state === 'body') for await (const _ of this.readBody()) void _;
    if (this.state === 'preamble') await this.skipPreamble();
    if (this.state === 'done') return null;
    // After a delimiter: `--` closes the body; otherwise optional padding, then CRLF and headers.
    if (!(await this.fill(2))) throw new MultipartError('the body ends right after a boundary');
    if (this.buffer[0] === 0x2d && this.buffer[1] === 0x2d) {
      this.state = 'done';
      await this.release();
      return null;
    }
    await this.skipPaddingAndNewline();
    const headers = await this.readHeaderBlock();
    this.parts++;
    if (this.parts > this.limits.maxParts) {
      throw new MultipartError(`the body has more than ${this.limits.maxParts} parts`);
    }
    const disposition = headers['content-disposition'];
    if (disposition?.split(';')[0]?.trim().toLowerCase() !== 'form-data') {
      throw new MultipartError('a part has no "Content-Disposition: form-data" header');
    }
    const params = parseHeaderParams(disposition);
    if (params.name === undefined) throw new MultipartError('a part has no name');
    this.state = 'body';
    return {
      name: params.name,
      filename: params.filename,
      contentType: headers['content-type'],
      headers,
    };
  }

  /**
   * The content of the current part, chunk by chunk (each chunk is a fresh copy the caller may
   * keep). Ends at the part's delimiter; throws MultipartError when the body ends first.
   */
  async *readBody(): AsyncGenerator<Buffer> {
    if (this.state !== 'body') return;
    const keep = this.delimiter.length - 1;
    for (;;) {
      const at = this.buffer.indexOf(this.delimiter);
      if (at >= 0) {
        const last = this.take(at);
        this.take(this.delimiter.length);
        this.state = 'headers';
        if (last.length > 0) yield last;
        return;
      }
      if (this.buffer.length > keep) {
        // Everything but a tail that might be the first bytes of the delimiter.
        yield this.take(this.buffer.length - keep);
      }
      if (!(await this.readMore())) throw new MultipartError('the body ends inside a part');
    }
  }

  /** The current part as UTF-8 text; MultipartError when it is longer than `maxBytes`. */
  async readText(maxBytes: number): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.readBody()) {
      size += chunk.length;
      if (size > maxBytes) throw new MultipartError(`a field is longer than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /**
   * Read and drop the rest of the body, at most `maxBytes` or `maxMs`, then stop reading (after a
   * refused upload: a client still sending usually reads the answer only once its body is taken).
   */
  async drain(maxBytes: number, maxMs: number): Promise<void> {
    this.state = 'done';
    this.buffer = Buffer.alloc(0);
    if (this.ended) return;
    const deadline = Date.now() + maxMs;
    let dropped = 0;
    let timer: NodeJS.Timeout | undefined;
    try {
      while (dropped <= maxBytes) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), left);
        });
        const next = await Promise.race([this.source.read(), timeout]);
        clearTimeout(timer);
        if (next === 'timeout') break;
        if (next.done) {
          this.ended = true;
          return;
        }
        dropped += next.value.length;
      }
    } catch {
      // The client went away: nothing left to drain.
    } finally {
      clearTimeout(timer);
    }
    this.ended = true;
    await this.source.cancel().catch(() => {});
  }

  /** After the closing boundary: read the epilogue (normally a line break) to the end, and ignore it. */
  private async release(): Promise<void> {
    let epilogue = this.buffer.length;
    this.buffer = Buffer.alloc(0);
    while (!this.ended && epilogue <= this.limits.maxPreambleBytes) {
      const { done, value } = await this.source.read();
      if (done) this.ended = true;
      else epilogue += value.length;
    }
    if (!this.ended) await this.source.cancel().catch(() => {});
  }

  /** Up to and including the first `--boundary` (which may be the very first bytes). */
  private async skipPreamble(): Promise<void> {
    const first = this.delimiter.subarray(2);
    for (;;) {
      // The first boundary may open the body without the CRLF that precedes later ones.
      if (this.buffer.length >= first.length && this.buffer.subarray(0, first.length).equals(first)) {
        this.take(first.length);
        this.state = 'headers';
        return;
      }
      const at = this.buffer.indexOf(this.delimiter);
      if (at >= 0) {
        this.take(at + this.delimiter.length);
        this.state = 'headers';
        return;
      }
      if (this.buffer.length > this.limits.maxPreambleBytes + this.delimiter.length) {
        throw new MultipartError('no multipart boundary at the start of the body');
      }
      if (!(await this.readMore())) throw new MultipartError('the body holds no multipart boundary');
    }
  }

  /** Linear white space after a boundary (RFC 2046 transport padding), then CRLF. */
  private async skipPaddingAndNewline(): Promise<void> {
    for (let skipped = 0; ; skipped++) {
      if (!(await this.fill(2))) throw new MultipartError('the body ends right after a boundary');
      if (this.buffer[0] === 0x0d && this.buffer[1] === 0x0a) {
        this.take(2);
        return;
      }
      if ((this.buffer[0] !== 0x20 && this.buffer[0] !== 0x09) || skipped > 256) {
        throw new MultipartError('a boundary is not followed by a line break');
      }
      this.take(1);
    }
  }

  private async readHeaderBlock(): Promise<Record<string, string>> {
    // A part may have no headers at all: the blank line follows at once.
    if (!(await this.fill(2))) throw new MultipartError('the body ends inside part headers');
    let block = '';
    if (this.buffer[0] === 0x0d && this.buffer[1] === 0x0a) {
      this.take(2);
    } else {
      for (;;) {
        const at = this.buffer.indexOf(HEADER_END);
        if (at >= 0) {
          block = this.take(at).toString('utf8');
          this.take(HEADER_END.length);
          break;
        }
        if (this.buffer.length > this.limits.maxHeaderBytes) {
          throw new MultipartError(`part headers are longer than ${this.limits.maxHeaderBytes} bytes`);
        }
        if (!(await this.readMore())) throw new MultipartError('the body ends inside part headers');
      }
    }
    if (Buffer.byteLength(block) > this.limits.maxHeaderBytes) {
      throw new MultipartError(`part headers are longer than ${this.limits.maxHeaderBytes} bytes`);
    }
    const headers: Record<string, string> = {};
    for (const line of block.split(CRLF.toString())) {
      if (line === '') continue;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new MultipartError('a part header line has no name');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return headers;
  }

  /** Read until at least `n` bytes are buffered; false when the body ends before. */
  private async fill(n: number): Promise<boolean> {
    while (this.buffer.length < n) if (!(await this.readMore())) return false;
    return true;
  }

  private async readMore(): Promise<boolean> {
    if (this.ended) return false;
    const { done, value } = await this.source.read();
    if (done) {
      this.ended = true;
      return false;
    }
    if (value.length > 0) {
      const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    }
    return true;
  }

  /** The first `n` buffered bytes, as a copy (the source's chunks may be reused). */
  private take(n: number): Buffer {
    const out = Buffer.from(this.buffer.subarray(0, n));
    this.buffer = this.buffer.subarray(n);
    return out;
  }
}
