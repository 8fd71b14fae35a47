/**
 * Dates as cameras write them, turned into what the database stores: an ISO-8601 UTC instant and,
 * when known, the UTC offset the photo was taken at.
 *
 * Accepted forms: EXIF `2021:04:11 15:47:53`, XMP/ISO `2008-03-15T09:52:01-04:00`, with optional
 * fractional seconds, a trailing `Z`, `+hh:mm`, `+hhmm` or `+hh` offset, and trailing text such as
 * ` DST`. A date without an offset is a wall-clock time in an unknown zone: it is stored as if it were
 * UTC, with offset null. All-zero or impossible dates are absent (null).
 */

export interface ParsedDate {
  /** ISO-8601 UTC instant, e.g. `2021-04-11T20:47:53.000Z`. */
  instant: string;
  /** The offset from UTC (`+02:00`), or null when the source gave none. */
  offset: string | null;
}

const DATE_PATTERN =
  /^\s*(\d{4})[:\-/](\d{1,2})[:\-/](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?/i;

/** Normalises an offset string to `+hh:mm`; null when it is missing or out of range (beyond ±14:00). */
export function normalizeOffset(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (/^z$/i.test(text)) return '+00:00';
  const match = /^([+-])(\d{2})(?::?(\d{2}))?$/.exec(text);
  if (!match) return null;
  const hours = Number(match[2]);
  const minutes = Number(match[3] ?? '0');
  if (minutes >= 60 || hours * 60 + minutes > 14 * 60) return null;
  return `${match[1]}${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}`;
}

function offsetMinutes(offset: string): number {
  const sign = offset.startsWith('-') ? -1 : 1;
  return sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
}

/**
 * Parses a camera date. `separateOffset` (EXIF OffsetTimeOriginal and friends) applies when the
 * value itself carries none; `subSeconds` (EXIF SubSecTimeOriginal, e.g. `054`) adds milliseconds.
 */
export function parseCameraDate(
  value: unknown,
  separateOffset?: unknown,
  subSeconds?: unknown,
): ParsedDate | null {
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? null : { instant: value.toISOString(), offset: null };
  }
  if (typeof value !== 'string') return null;
  const match = DATE_PATTERN.exec(value);
  if (!match) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction, inlineOffset] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (
    year === 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 31 ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return null;
  }
  const fractionDigits =
    fraction ??
    (typeof subSeconds === 'string' || typeof subSeconds === 'number' ? String(subSeconds).trim() : '');
  const millis = /^\d+$/.test(fractionDigits) ? Math.floor(Number(`0.${fractionDigits}`) * 1000) : 0;
  const wallClock = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(wallClock);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return null; // 31 February and the like
  }
  const offset = normalizeOffset(inlineOffset) ?? normalizeOffset(separateOffset);
  const instant = offset === null ? wallClock : wallClock - offsetMinutes(offset) * 60_000;
  return { instant: new Date(instant).toISOString(), offset };
}
