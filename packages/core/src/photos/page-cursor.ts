import { z } from 'zod';
import type { PhotoSort } from './photo-sort.ts';
import { MAX_ROW_ID } from './query-params.ts';
import { MAX_SHUFFLE_BLOCK_BITS } from './shuffle-blocks.ts';
import { SHUFFLE_MODULUS, shuffleSeedSchema } from './shuffle-key.ts';

/**
 * Opaque paging cursors: base64url of a small JSON object holding the sort keys of the last row
 * sent. Clients must treat them as opaque; the server validates every field when one comes back,
 * so a tampered cursor is a 400, never a query error.
 */

const MAX_CURSOR_LENGTH = 8192;
const CURSOR_VERSION = 1;

/** A cursor that cannot be decoded, or one that belongs to another query. */
export class CursorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CursorError';
  }
}

/** base64url(JSON) of `value`, with a version field so the format can change later. */
export function encodeCursor(value: object): string {
  return Buffer.from(JSON.stringify({ v: CURSOR_VERSION, ...value }), 'utf8').toString('base64url');
}

/** Decode and validate a cursor with `schema` (which should ignore or allow the `v` field). */
export function decodeCursor<T>(text: string, schema: z.ZodType<T>): T {
  if (text.length === 0 || text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) {
    throw new CursorError('cursor is not a cursor this server issued');
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError('cursor is not a cursor this server issued');
  }
  if (typeof json !== 'object' || json === null || (json as { v?: unknown }).v !== CURSOR_VERSION) {
    throw new CursorError('cursor is not a cursor this server issued');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new CursorError('cursor is not a cursor this server issued');
  return parsed.data;
}

const rowId = z.number().int().min(1).max(MAX_ROW_ID);
const isoInstant = z.string().max(40);

/**
 * Where the next page of `/photos` starts: the sort, and the sort key and id of the last row sent.
 * DateTaken cursors carry `d: null` once the page has reached the rows without a date (they come
 * last in both directions). Shuffle cursors carry the shuffle's block bits `m` (fixed on its first
 * page), and the block position `p` and key `k` of the last row (see shuffle-blocks.ts).
 */
export const photoCursorSchema = z.discriminatedUnion('s', [
  z.object({ s: z.enum(['DateTakenAsc', 'DateTakenDesc']), d: isoInstant.nullable(), id: rowId }),
  z.object({
    s: z.enum(['NameAsc', 'NameDesc']),
    f: z.string().max(1024),
    r: z.string().max(8192),
    id: rowId,
  }),
  z.object({ s: z.enum(['TagCountAsc', 'TagCountDesc']), c: z.number().int().min(0), id: rowId }),
  z
    .object({
      s: z.literal('Shuffle'),
      seed: shuffleSeedSchema,
      m: z.number().int().min(0).max(MAX_SHUFFLE_BLOCK_BITS),
      p: z.number().int().min(0),
      k: z
        .number()
        .int()
        .min(0)
        .max(SHUFFLE_MODULUS - 1),
      id: rowId,
    })
    .refine((cursor) => cursor.p < 2 ** cursor.m, { path: ['p'], message: 'block position out of range' }),
]);
export type PhotoCursor = z.output<typeof photoCursorSchema>;

export function encodePhotoCursor(cursor: PhotoCursor): string {
  return encodeCursor(cursor);
}

/**
 * Decode a `/photos` cursor and check it belongs to this query: same sort, and for Shuffle the same
 * seed when the request names one. Throws CursorError.
 */
export function decodePhotoCursor(text: string, expect?: { sort?: PhotoSort; seed?: string }): PhotoCursor {
  const cursor = decodeCursor(text, photoCursorSchema);
  if (expect?.sort !== undefined && cursor.s !== expect.sort) {
    throw new CursorError(`cursor belongs to sort ${cursor.s}, not ${expect.sort}`);
  }
  if (cursor.s === 'Shuffle' && expect?.seed !== undefined && cursor.seed !== expect.seed) {
    throw new CursorError('cursor belongs to another shuffle seed');
  }
  return cursor;
}

/** Cursor of a list ordered by id, newest first (favorites). */
export const idCursorSchema = z.object({ id: rowId });
export type IdCursor = z.output<typeof idCursorSchema>;

export function encodeIdCursor(cursor: IdCursor): string {
  return encodeCursor(cursor);
}

export function decodeIdCursor(text: string): IdCursor {
  return decodeCursor(text, idCursorSchema);
}
