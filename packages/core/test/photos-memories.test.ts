import { describe, expect, it } from 'vitest';
import {
  type DatedPhoto,
  isExcludedDir,
  isValidTimeZone,
  localDateInZone,
  MAX_MEMORY_YEARS,
  type MemorySpan,
  memoryWindows,
  memoryYearOf,
  normalizeExcludedDirs,
  photoLocalDate,
} from '../src/index.ts';

const photo = (
  date_taken: string | null,
  date_taken_offset: string | null,
  source: string | null,
): DatedPhoto => ({
  date_taken,
  date_taken_offset,
  date_taken_source: source,
});

describe('photoLocalDate', () => {
  it.each([
    [
      'own offset moves it to the next day',
      photo('2021-06-30T22:30:00.000Z', '+02:00', 'exif'),
      'UTC',
      '2021-07-01',
    ],
    [
      'own offset moves it to the previous day',
      photo('2021-07-01T03:00:00.000Z', '-05:00', 'exif'),
      'Asia/Tokyo',
      '2021-06-30',
    ],
    ['+14:00 (Kiribati)', photo('2021-12-31T10:00:00.000Z', '+14:00', 'video'), 'UTC', '2022-01-01'],
    ['half-hour offset', photo('2021-03-01T18:45:00.000Z', '+05:30', 'exif'), 'UTC', '2021-03-02'],
    [
      'the own offset wins over tz',
      photo('2021-07-01T01:00:00.000Z', '+00:00', 'exif'),
      'America/New_York',
      '2021-07-01',
    ],
    [
      'EXIF without offset is wall-clock time: tz does not move it',
      photo('2021-07-01T00:30:00.000Z', null, 'exif'),
      'America/New_York',
      '2021-07-01',
    ],
    [
      'mtime is an instant: shown in tz',
      photo('2021-07-01T00:30:00.000Z', null, 'mtime'),
      'America/New_York',
      '2021-06-30',
    ],
    [
      'video creation time is an instant: shown in tz',
      photo('2021-06-30T20:00:00.000Z', null, 'video'),
      'Asia/Tokyo',
      '2021-07-01',
    ],
    [
      'unknown source counts as an instant',
      photo('2021-06-30T20:00:00.000Z', null, null),
      'Asia/Tokyo',
      '2021-07-01',
    ],
    [
      'DST in tz (New York, summer = UTC-4)',
      photo('2021-07-01T03:59:00.000Z', null, 'mtime'),
      'America/New_York',
      '2021-06-30',
    ],
    [
      'DST in tz (New York, winter = UTC-5)',
      photo('2021-01-01T04:59:00.000Z', null, 'mtime'),
      'America/New_York',
      '2020-12-31',
    ],
    [
      'a malformed offset falls back to the source rule',
      photo('2021-07-01T00:30:00.000Z', '+2', 'exif'),
      'Asia/Tokyo',
      '2021-07-01',
    ],
    ['no date', photo(null, null, null), 'UTC', null],
    ['unparseable date', photo('yesterday', null, 'exif'), 'UTC', null],
  ])('%s', (_name, input, tz, expected) => {
    expect(photoLocalDate(input, tz)).toBe(expected);
  });
});

describe('time zones', () => {
  it.each([
    ['UTC', true],
    ['Europe/Paris', true],
    ['America/Argentina/Buenos_Aires', true],
    ['Mars/Olympus_Mons', false],
    ['', false],
    ['Europe/Paris; drop table', false],
  ])('%j is valid: %s', (tz, valid) => {
    expect(isValidTimeZone(tz)).toBe(valid);
  });

  it.each([
    ['2024-03-15T23:30:00Z', 'UTC', '2024-03-15'],
    ['2024-03-15T23:30:00Z', 'Asia/Tokyo', '2024-03-16'],
    ['2024-03-15T02:00:00Z', 'America/Los_Angeles', '2024-03-14'],
    ['0999-06-01T12:00:00Z', 'UTC', '0999-06-01'],
  ])('%s in %s is %s', (instant, tz, expected) => {
    expect(localDateInZone(new Date(instant), tz)).toBe(expected);
  });
});

describe('memoryWindows', () => {
  const span = (now: string, tz: string, s: MemorySpan, oldestYear: number) =>
    memoryWindows({ now: new Date(now), tz, span: s, oldestYear }).map((w) => [w.year, w.from, w.to]);

  it.each([
    [
      'day',
      '2024-03-15T12:00:00Z',
      'UTC',
      [
        [2023, '2023-03-15', '2023-03-16'],
        [2022, '2022-03-15', '2022-03-16'],
      ],
    ],
    [
      'week',
      '2024-03-15T12:00:00Z',
      'UTC',
      [
        [2023, '2023-03-12', '2023-03-19'],
        [2022, '2022-03-12', '2022-03-19'],
      ],
    ],
    [
      'month',
      '2024-03-15T12:00:00Z',
      'UTC',
      [
        [2023, '2023-03-01', '2023-04-01'],
        [2022, '2022-03-01', '2022-04-01'],
      ],
    ],
    [
      'month',
      '2024-12-31T12:00:00Z',
      'UTC',
      [
        [2023, '2023-12-01', '2024-01-01'],
        [2022, '2022-12-01', '2023-01-01'],
      ],
    ],
    [
      'day',
      '2024-03-15T23:30:00Z',
      'Asia/Tokyo',
      [
        [2023, '2023-03-16', '2023-03-17'],
        [2022, '2022-03-16', '2022-03-17'],
      ],
    ],
    [
      'week',
      '2024-01-01T12:00:00Z',
      'UTC',
      [
        [2023, '2022-12-29', '2023-01-05'],
        [2022, '2021-12-29', '2022-01-05'],
      ],
    ],
    [
      'week',
      '2024-12-30T12:00:00Z',
      'UTC',
      [
        [2023, '2023-12-27', '2024-01-03'],
        [2022, '2022-12-27', '2023-01-03'],
      ],
    ],
    // 29 February: the 28th in common years
    [
      'day',
      '2024-02-29T12:00:00Z',
      'UTC',
      [
        [2023, '2023-02-28', '2023-03-01'],
        [2022, '2022-02-28', '2022-03-01'],
      ],
    ],
    [
      'week',
      '2024-02-29T12:00:00Z',
      'UTC',
      [
        [2023, '2023-02-25', '2023-03-04'],
        [2022, '2022-02-25', '2022-03-04'],
      ],
    ],
  ] as [MemorySpan, string, string, [number, string, string][]][])(
    '%s around %s in %s',
    (s, now, tz, expected) => {
      expect(span(now, tz, s, 2022)).toEqual(expected);
    },
  );

  it('on 28 February of a common year, includes 29 February of leap years', () => {
    expect(span('2023-02-28T12:00:00Z', 'UTC', 'day', 2019)).toEqual([
      [2022, '2022-02-28', '2022-03-01'],
      [2021, '2021-02-28', '2021-03-01'],
      [2020, '2020-02-28', '2020-03-01'],
      [2019, '2019-02-28', '2019-03-01'],
    ]);
    expect(
      memoryYearOf(
        '2020-02-29',
        memoryWindows({ now: new Date('2023-02-28T12:00:00Z'), tz: 'UTC', span: 'day', oldestYear: 2019 }),
      ),
    ).toBe(2020);
  });

  it('widens the UTC window by 14 hours on both sides', () => {
    const [w] = memoryWindows({
      now: new Date('2024-03-15T12:00:00Z'),
      tz: 'UTC',
      span: 'day',
      oldestYear: 2023,
    });
    expect(w).toEqual({
      year: 2023,
      from: '2023-03-15',
      to: '2023-03-16',
      utcFrom: '2023-03-14T10:00:00.000Z',
      utcTo: '2023-03-16T14:00:00.000Z',
    });
  });

  it('covers only earlier years, newest first, at most MAX_MEMORY_YEARS', () => {
    expect(
      memoryWindows({ now: new Date('2024-03-15T12:00:00Z'), tz: 'UTC', span: 'day', oldestYear: 2024 }),
    ).toEqual([]);
    const all = memoryWindows({
      now: new Date('2024-03-15T12:00:00Z'),
      tz: 'UTC',
      span: 'day',
      oldestYear: 1000,
    });
    expect(all).toHaveLength(MAX_MEMORY_YEARS);
    expect(all[0]?.year).toBe(2023);
    expect(all.at(-1)?.year).toBe(2024 - MAX_MEMORY_YEARS);
  });

  it('every local date of a window lies within its UTC window for any offset from -14 to +14 hours', () => {
    const windows = memoryWindows({
      now: new Date('2024-07-04T12:00:00Z'),
      tz: 'UTC',
      span: 'week',
      oldestYear: 2020,
    });
    for (const w of windows) {
      for (const local of [`${w.from}T00:00:00.000Z`, `${w.to}T00:00:00.000Z`]) {
        for (let offsetHours = -14; offsetHours <= 14; offsetHours++) {
          const edge = local.startsWith(w.from) ? 0 : -1; // last millisecond before `to`
          const instant = new Date(Date.parse(local) + edge - offsetHours * 3_600_000).toISOString();
          expect(instant >= w.utcFrom && instant < w.utcTo, `${local} ${offsetHours}`).toBe(true);
        }
      }
    }
  });
});

describe('memoryYearOf', () => {
  const windows = memoryWindows({
    now: new Date('2024-03-15T12:00:00Z'),
    tz: 'UTC',
    span: 'week',
    oldestYear: 2021,
  });
  it.each([
    ['2023-03-12', 2023],
    ['2023-03-18', 2023],
    ['2023-03-19', undefined],
    ['2023-03-11', undefined],
    ['2021-03-15', 2021],
    ['2024-03-15', undefined],
    ['2020-03-15', undefined],
  ])('%s -> %s', (date, year) => {
    expect(memoryYearOf(date, windows)).toBe(year);
  });
});

describe('EXCLUDED_DIRS', () => {
  it.each([
    [
      [' @eaDir ', '/private/2019/', '', '@eaDir', '.thumbnails'],
      ['@eaDir', 'private/2019', '.thumbnails'],
    ],
    [['///'], []],
    [[], []],
  ])('normalizes %j to %j', (input, expected) => {
    expect(normalizeExcludedDirs(input)).toEqual(expected);
  });

  const excluded = normalizeExcludedDirs(['@eaDir', 'private/2019', '.thumbnails']);
  it.each([
    ['', false],
    ['2024', false],
    ['@eaDir', true],
    ['2024/@eaDir', true],
    ['2024/@eaDir/thumbs', true],
    ['private/2019', true],
    ['private/2019/summer', true],
    ['archive/private/2019', true],
    ['private/2018', false],
    ['a/.thumbnails', true],
    ['EADIR', false],
  ])('dir %j is excluded: %s', (dir, expected) => {
    expect(isExcludedDir(dir, excluded)).toBe(expected);
  });
});
