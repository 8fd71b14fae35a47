import { readFile as readFileCallback, type Stats } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { contentRange, parseByteRange, unsatisfiedRange } from './byte-range.ts';
import { ProblemError } from './problem.ts';

/** Request headers that decide between 200, 206, 304 and 416. */
export interface ConditionalHeaders {
  method: string;
  range?: string | undefined;
  ifRange?: string | undefined;
  ifNoneMatch?: string | undefined;
  ifModifiedSince?: string | undefined;
}

export interface ServeFileOptions {
  /**
   * The file to send: an absolute path (opened here), or a handle opened and checked by the caller
   * (a library file: see openLibraryFile), which serveFile then owns and closes.
   */
  path: string | FileHandle;
  contentType: string;
  cacheControl: string;
  /** A quoted strong entity tag, or one computed from the opened file's stats. */
  etag: string | ((stats: Stats) => string);
  /** Send `Last-Modified` (from the file's mtime) and honour `If-Modified-Since`. */
  lastModified?: boolean;
  /** Honour `Range` (and `If-Range`); always advertised with `Accept-Ranges: bytes` when on. */
  ranges?: boolean;
}

/** The served outcome, for metrics and logs. */
export interface ServedFile {
  response: Response;
  /** 200, 206, 304 (or 416, thrown as a problem instead). */
  status: number;
}

/** `"abc"` and `W/"abc"` both compare as `"abc"` (weak comparison, RFC 9110 8.8.3.2). */
function opaqueTag(tag: string): string {
  return tag.trim().replace(/^W\//, '');
}

/** True when an `If-None-Match` value lists `etag` (or is `*`). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const wanted = opaqueTag(etag);
  return ifNoneMatch.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || opaqueTag(tag) === wanted;
  });
}

/** HTTP dates have whole seconds. */
function wholeSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function notModifiedSince(ifModifiedSince: string | undefined, mtime: Date): boolean {
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && wholeSeconds(mtime) <= Math.floor(since / 1000);
}

/** `If-Range` holds: the validator (strong entity tag or exact date) still describes the file. */
function ifRangeHolds(ifRange: string | undefined, etag: string, mtime: Date): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === etag; // strong comparison only
  const date = Date.parse(value);
  return !Number.isNaN(date) && Math.floor(date / 1000) === wholeSeconds(mtime);
}

/** A conditional GET that the client's cached copy satisfies (If-None-Match wins over If-Modified-Since). */
export function isNotModified(headers: ConditionalHeaders, etag: string, mtime?: Date): boolean {
  if (headers.ifNoneMatch !== undefined) return etagMatches(headers.ifNoneMatch, etag);
  return mtime !== undefined && notModifiedSince(headers.ifModifiedSince, mtime);
}

/** 304 with the validators and caching headers a 200 would carry (RFC 9110 15.4.5). */
export function notModifiedResponse(headers: Record<string, string>): Response {
  return new Response(null, { status: 304, headers });
}

/**
 * Send a file: opened once, so size, validators and bytes all come from the same inode; the bytes are
 * streamed (never read whole) and the file is closed when the stream ends or the client goes away.
 * HEAD and 304 answers never open a stream. A Range past the end throws the `range-not-satisfiable`
 * problem. The caller maps a missing file (ENOENT from open) to its own problem.
 */
export async function serveFile(request: ConditionalHeaders, options: ServeFileOptions): Promise<ServedFile> {
  const handle = typeof options.path === 'string' ? await fs.open(options.path, 'r') : options.path;
  let streaming = false;
  try {
    const stats = await handle.stat();
    const etag = typeof options.etag === 'string' ? options.etag : options.etag(stats);
    const headers: Record<string, string> = {
      ETag: etag,
      'Cache-Control': options.cacheControl,
    };
    if (options.lastModified) headers['Last-Modified'] = stats.mtime.toUTCString();
    if (options.ranges) headers['Accept-Ranges'] = 'bytes';

    if (isNotModified(request, etag, options.lastModified ? stats.mtime : undefined)) {
      return { response: notModifiedResponse(headers), status: 304 };
    }

    headers['Content-Type'] = options.contentType;
    const size = stats.size;
    const range =
      options.ranges && ifRangeHolds(request.ifRange, etag, stats.mtime)
        ? parseByteRange(request.range, size)
        : ({ kind: 'full' } as const);
    if (range.kind === 'unsatisfiable') {
      throw new ProblemError(
        'range-not-satisfiable',
        `the file has ${size} bytes; "${request.range}" asks for none of them`,
        {
          headers: { 'Content-Range': unsatisfiedRange(size), 'Accept-Ranges': 'bytes' },
        },
      );
    }
    const start = range.kind === 'partial' ? range.start : 0;
    const end = range.kind === 'partial' ? range.end : size - 1;
    const status = range.kind === 'partial' ? 206 : 200;
    headers['Content-Length'] = String(Math.max(0, end - start + 1));
    if (range.kind === 'partial') headers['Content-Range'] = contentRange(start, end, size);

    if (request.method === 'HEAD' || size === 0) {
      return { response: new Response(null, { status, headers }), status };
    }
    const stream = handle.createReadStream({ start, end, autoClose: true });
    streaming = true;
    const body = Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
    return { response: new Response(body, { status, headers }), status };
  } finally {
    if (!streaming) await handle.close();
  }
}

const readWholeFile = promisify(readFileCallback);

/**
 * Send a small file we made ourselves (a thumbnail or preview: a few KB to a few hundred KB) whose
 * entity tag is known without opening it: a matching `If-None-Match` is 304 without touching the
 * disk, anything else is one whole read (the callback `readFile`, about half the CPU of
 * open + stat + read + close through promise file handles). Throws ENOENT like `serveFile`.
 */
export async function serveSmallFile(
  request: ConditionalHeaders,
  options: { path: string; contentType: string; cacheControl: string; etag: string },
): Promise<ServedFile> {
  const headers: Record<string, string> = { ETag: options.etag, 'Cache-Control': options.cacheControl };
  if (isNotModified(request, options.etag)) return { response: notModifiedResponse(headers), status: 304 };
  const bytes = await readWholeFile(options.path);
  headers['Content-Type'] = options.contentType;
  headers['Content-Length'] = String(bytes.length);
  const body = request.method === 'HEAD' || bytes.length === 0 ? null : bytes;
  return { response: new Response(body, { status: 200, headers }), status: 200 };
}
