import { z } from 'zod';
import { validateRelPath } from '../paths/index.ts';

/**
 * Building blocks for HTTP query strings and JSON bodies. Query values arrive as strings; each
 * helper checks the text strictly (no silent coercion of '' to 0) and produces the typed value, with
 * a message that says what was expected.
 */

/** `true`/`false`/`1`/`0` -> boolean. */
export const booleanParam = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');

const DECIMAL = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/** A decimal number in [min, max] (written as text in a query string). */
export function numberParam(min: number, max: number, options: { exclusiveMin?: boolean } = {}) {
  const bound = z.number().max(max, `must be at most ${max}`);
  return z
    .string()
    .trim()
    .regex(DECIMAL, 'must be a number')
    .transform(Number)
    .pipe(
      options.exclusiveMin
        ? bound.gt(min, `must be greater than ${min}`)
        : bound.min(min, `must be at least ${min}`),
    );
}

/** An integer in [min, max] (written as text in a query string). */
export function integerParam(min: number, max: number) {
  return z
    .string()
    .trim()
    .regex(/^[-+]?\d{1,16}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

/**
 * The largest row id: ids are `integer` columns, 4 bytes on PostgreSQL (a larger one in a query
 * fails the statement there, where SQLite just finds no row).
 */
export const MAX_ROW_ID = 2_147_483_647;

/** A database id as JSON (positive integer). */
export const idValue = z.number().int().min(1).max(MAX_ROW_ID);

/** Ids written as `1,2,3` (or the parameter repeated): distinct positive integers, at most `max`. */
export function idListParam(max: number) {
  return z.union([z.string(), z.array(z.string())]).transform((value, ctx) => {
    const parts = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim());
    const ids: number[] = [];
    for (const part of parts) {
      if (part === '') continue;
      if (!/^\d{1,16}$/.test(part) || Number(part) < 1 || Number(part) > MAX_ROW_ID) {
        ctx.addIssue({ code: 'custom', message: `"${part.slice(0, 32)}" is not an id` });
        return z.NEVER;
      }
      ids.push(Number(part));
    }
    const distinct = [...new Set(ids)];
    if (distinct.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'must list at least one id' });
      return z.NEVER;
    }
    if (distinct.length > max) {
      ctx.addIssue({ code: 'custom', message: `must list at most ${max} ids` });
      return z.NEVER;
    }
    return distinct;
  });
}

/**
 * No NUL byte: a text a query compares against cannot hold one on PostgreSQL (the database refuses
 * the whole statement), and none of ours does on SQLite either.
 */
export const noNulByte = (value: string): boolean => !value.includes('\0');
const NUL_MESSAGE = 'must not contain a NUL byte';

/** Free text such as a camera make: trimmed, 1-200 characters. */
export const textParam = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .refine(noNulByte, NUL_MESSAGE);

/** A library by name or id (as text; `LibrariesRepository.findByIdOrName` resolves it). */
export const libraryParam = z
  .union([z.string().trim().min(1).max(256).refine(noNulByte, NUL_MESSAGE), idValue.transform(String)])
  .describe('library name or id');

/** A library-relative path, validated and normalized (see validateRelPath). */
export function relPathParam(options: { allowRoot: boolean }) {
  return z
    .string()
    .max(8192)
    .transform((value, ctx) => {
      const result = validateRelPath(value, options);
      if (!result.ok) {
        ctx.addIssue({ code: 'custom', message: `path ${result.reason}` });
        return z.NEVER;
      }
      return result.relPath;
    });
}

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Parse an ISO-8601 date or date-time into a UTC instant (`toISOString` form, which is how
 * date_taken is stored, so strings compare in time order). A date alone means the start of that
 * UTC day, or with `edge: 'end'` its last millisecond, so `date_to=2024-05-01` includes all of the
 * 1st. A date-time without an offset is read as UTC. Returns null for anything else.
 */
export function parseIsoInstant(text: string, edge: 'start' | 'end' = 'start'): string | null {
  const match = ISO_DATE.exec(text.trim());
  if (!match) return null;
  const [, y, mo, d, h, mi, s, fraction, offset] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return null;
  }
  if (h === undefined) {
    const dayStart = date.getTime();
    return new Date(edge === 'end' ? dayStart + 86_400_000 - 1 : dayStart).toISOString();
  }
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s ?? '0');
  if (hour > 23 || minute > 59 || second > 59) return null;
  const millis = fraction ? Math.floor(Number(`0.${fraction}`) * 1000) : 0;
  let offsetMinutes = 0;
  if (offset && offset.toUpperCase() !== 'Z') {
    const digits = offset.replace(':', '');
    const hours = Number(digits.slice(1, 3));
    const minutes = Number(digits.slice(3, 5) || '0');
    if (hours > 14 || minutes > 59) return null;
    offsetMinutes = (digits.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
  }
  const instant = date.getTime() + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis;
  return new Date(instant).toISOString();
}

/** An ISO-8601 date or date-time, as a UTC instant (see parseIsoInstant). */
export function isoInstantParam(edge: 'start' | 'end') {
  return z
    .string()
    .max(64)
    .transform((value, ctx) => {
      const instant = parseIsoInstant(value, edge);
      if (instant === null) {
        ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 date or date-time' });
        return z.NEVER;
      }
      return instant;
    });
}
