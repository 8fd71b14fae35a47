/**
 * "On this day / week / month" in earlier years. A photo belongs to year Y's memory when its local
 * calendar date falls in the span around today's date (in the viewer's zone) moved to year Y.
 *
 * A photo's local date: date_taken is a UTC instant. With a date_taken_offset the local wall time
 * is the instant plus that offset. Without one it depends on where the date came from: an EXIF date
 * without an offset is a wall-clock time stored as if it were UTC (see @lumen/media exif-date), so
 * its UTC calendar date IS the local date; an instant from a video container or the file's mtime is
 * a real instant, shown in the viewer's zone `tz`.
 *
 * Spans: `day` is the same month and day (29 February maps to the 28th in other years, and on the
 * 28th of a common year the 29th of leap years is included); `week` is the seven days centred on
 * that day; `month` the same calendar month.
 *
 * SQL cannot apply zone rules, so each year's span is also given as a UTC window widened by the
 * largest offsets (±14 h): every photo whose local date is in the span has its instant in that
 * window. The database selects by the window (an index range), then `memoryYearOf` applies the
 * exact rule to the rows it returns.
 */

export const MEMORY_SPANS = ['day', 'week', 'month'] as const;
export type MemorySpan = (typeof MEMORY_SPANS)[number];

/** Memories never reach further back than this many years. */
export const MAX_MEMORY_YEARS = 100;

const DAY_MS = 86_400_000;
/** Local times lie within this much of UTC (UTC-12 to UTC+14; stored offsets are capped at ±14 h). */
const MAX_OFFSET_MS = 14 * 3_600_000;

export interface MemoryWindow {
  /** The earlier year this window belongs to (the year of the span's centre). */
  year: number;
  /** First local date of the span, `YYYY-MM-DD`. */
  from: string;
  /** First local date after the span (exclusive), `YYYY-MM-DD`. */
  to: string;
  /** Every photo with a local date in the span has date_taken >= utcFrom and < utcTo (ISO UTC). */
  utcFrom: string;
  utcTo: string;
}

/** The fields of an image_exif row that decide its local date. */
export interface DatedPhoto {
  date_taken: string | null;
  date_taken_offset: string | null;
  date_taken_source: string | null;
}

/** True when `Intl` knows the zone (IANA names such as `Europe/Paris`, and `UTC`). */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date (`YYYY-MM-DD`) of an instant in an IANA zone. */
export function localDateInZone(instant: Date, tz: string): string {
  let formatter = formatters.get(tz);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    if (formatters.size >= 64) formatters.clear();
    formatters.set(tz, formatter);
  }
  const parts: Record<string, string> = {};
  for (const part of formatter.formatToParts(instant)) parts[part.type] = part.value;
  return `${String(Number(parts.year)).padStart(4, '0')}-${parts.month}-${parts.day}`;
}

/** The local calendar date of a photo (see the module comment), or null without a usable date. */
export function photoLocalDate(photo: DatedPhoto, tz: string): string | null {
  if (photo.date_taken === null) return null;
  const instant = Date.parse(photo.date_taken);
  if (Number.isNaN(instant)) return null;
  const offset = offsetMs(photo.date_taken_offset);
  if (offset !== null) return utcDate(instant + offset);
  if (photo.date_taken_source === 'exif') return utcDate(instant);
  return localDateInZone(new Date(instant), tz);
}

/**
 * The span around `now` (a date in `tz`) in each earlier year, newest year first, from last year
 * back to `oldestYear` (at most MAX_MEMORY_YEARS years).
 */
export function memoryWindows(options: {
  now: Date;
  tz: string;
  span: MemorySpan;
  oldestYear: number;
}): MemoryWindow[] {
  const today = localDateInZone(options.now, options.tz);
  const thisYear = Number(today.slice(0, 4));
  const month = Number(today.slice(5, 7));
  const day = Number(today.slice(8, 10));
  const oldest = Math.max(options.oldestYear, thisYear - MAX_MEMORY_YEARS);
  const windows: MemoryWindow[] = [];
  for (let year = thisYear - 1; year >= oldest; year--) {
    const [from, to] = spanInYear(options.span, year, month, day, isLeapYear(thisYear));
    windows.push({
      year,
      from: utcDate(from),
      to: utcDate(to),
      utcFrom: new Date(from - MAX_OFFSET_MS).toISOString(),
      utcTo: new Date(to + MAX_OFFSET_MS).toISOString(),
    });
  }
  return windows;
}

/** The year whose window holds this local date, or undefined. */
export function memoryYearOf(localDate: string, windows: readonly MemoryWindow[]): number | undefined {
  return windows.find((w) => localDate >= w.from && localDate < w.to)?.year;
}

/** [start, end) of the span in `year`, as UTC midnights in ms. */
function spanInYear(
  span: MemorySpan,
  year: number,
  month: number,
  day: number,
  thisYearIsLeap: boolean,
): [number, number] {
  if (span === 'month') return [utcMidnight(year, month, 1), utcMidnight(year, month + 1, 1)];
  const centreDay = month === 2 && day === 29 && !isLeapYear(year) ? 28 : day;
  const centre = utcMidnight(year, month, centreDay);
  if (span === 'week') return [centre - 3 * DAY_MS, centre + 4 * DAY_MS];
  const coversLeapDay = month === 2 && day === 28 && !thisYearIsLeap && isLeapYear(year);
  return [centre, centre + (coversLeapDay ? 2 : 1) * DAY_MS];
}

function utcMidnight(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}

function utcDate(ms: number): string {
  const date = new Date(ms);
  const year = String(date.getUTCFullYear()).padStart(4, '0');
  const month = String(date.getUTCMonth() + 1).padStart(2, '0');
  const day = String(date.getUTCDate()).padStart(2, '0');
  return `${year}-${month}-${day}`;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** `+02:00` / `-05:30` in ms; null when absent or malformed. */
function offsetMs(offset: string | null): number | null {
  if (offset === null) return null;
  const match = /^([+-])(\d{2}):(\d{2})$/.exec(offset);
  if (!match) return null;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return (match[1] === '-' ? -1 : 1) * minutes * 60_000;
}
