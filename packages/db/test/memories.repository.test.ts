import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Database,
  type ImageExifInput,
  ImageExifRepository,
  LibrariesRepository,
  type MemoriesParams,
  MemoriesRepository,
  TagsRepository,
} from '../src/index.ts';
import { hash } from './photo-fixtures.ts';
import { ENGINES, openEngine } from './test-engines.ts';

interface Row {
  path: string;
  date: string;
  offset?: string;
  source?: string;
  media?: string;
  library?: 'main' | 'archive';
}

/** Today is 2024-03-15 (UTC). Comments give each photo's local date. */
const ROWS: Row[] = [
  { path: 'm/2023-day.jpg', date: '2023-03-15T10:00:00.000Z' }, // 15th, EXIF wall clock
  { path: 'm/2023-offset-next.jpg', date: '2023-03-14T23:30:00.000Z', offset: '+02:00' }, // 15th locally
  { path: 'm/2023-offset-prev.jpg', date: '2023-03-15T01:00:00.000Z', offset: '-05:00' }, // 14th locally
  { path: 'm/2023-week.jpg', date: '2023-03-18T12:00:00.000Z' }, // in the week, not the day
  { path: 'm/2023-month.jpg', date: '2023-03-28T12:00:00.000Z' }, // in the month only
  { path: 'm/2022-mtime.jpg', date: '2022-03-15T02:00:00.000Z', source: 'mtime' }, // 15th in UTC, 14th in New York
  { path: 'm/2021-floating.jpg', date: '2021-03-15T00:30:00.000Z', source: 'exif' }, // 15th anywhere
  { path: 'm/2024-this-year.jpg', date: '2024-03-15T09:00:00.000Z' }, // this year: never a memory
  { path: '@eaDir/2023-thumb.jpg', date: '2023-03-15T11:00:00.000Z' },
  { path: 'x/@eaDir/deep/2023.jpg', date: '2023-03-15T11:00:00.000Z' },
  { path: 'private/2019/x.jpg', date: '2019-03-15T11:00:00.000Z' },
  { path: 'other/2020.mp4', date: '2020-03-15T12:00:00.000Z', source: 'video', media: 'video' },
  // 2018: 40 rows inside the widened UTC window but on the 14th locally, then 5 matches.
  ...Array.from({ length: 40 }, (_, i) => ({
    path: `busy/2018-early-${String(i).padStart(2, '0')}.jpg`,
    date: `2018-03-14T12:${String(i).padStart(2, '0')}:00.000Z`,
    offset: '+00:00',
  })),
  ...Array.from({ length: 5 }, (_, i) => ({
    path: `busy/2018-match-${i}.jpg`,
    date: `2018-03-15T0${i}:00:00.000Z`,
  })),
  { library: 'archive', path: 'a/2017.jpg', date: '2017-03-15T12:00:00.000Z' },
];

describe.each(ENGINES)('MemoriesRepository on %s', (engine) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  let memories: MemoriesRepository;
  let main: number;
  let archive: number;
  let tagId: number;

  beforeAll(async () => {
    ({ database, cleanup } = await openEngine(engine));
    const libraries = new LibrariesRepository(database.db);
    main = (await libraries.create({ name: 'main', root: '/m' })).id;
    archive = (await libraries.create({ name: 'archive', root: '/a' })).id;
    const rows: ImageExifInput[] = ROWS.map((row, i) => {
      const slash = row.path.lastIndexOf('/');
      return {
        library_id: row.library === 'archive' ? archive : main,
        rel_path: row.path,
        dir: row.path.slice(0, slash),
        file_name: row.path.slice(slash + 1),
        media_type: row.media ?? 'photo',
        size_bytes: 1,
        mtime_ms: 1,
        content_hash: hash(1000 + i),
        date_taken: row.date,
        date_taken_offset: row.offset ?? null,
        date_taken_source: row.source ?? 'exif',
      };
    });
    await new ImageExifRepository(database.db).upsert(rows);
    const tags = new TagsRepository(database.db);
    tagId = (await tags.create('memory')).tag.id;
    await tags.addTag(tagId, { libraryId: main, relPath: 'm/2023-day.jpg', contentHash: hash(1000) });
    memories = new MemoriesRepository(database.db, database.kind);
  });
  afterAll(() => cleanup?.());

  const base = (): MemoriesParams => ({
    libraryIds: [main, archive],
    excludedDirs: ['@eaDir', 'private/2019'],
    span: 'day',
    tz: 'UTC',
    now: new Date('2024-03-15T12:00:00Z'),
    limitPerYear: 50,
  });
  const summary = (result: Awaited<ReturnType<MemoriesRepository['memories']>>) =>
    result.groups.map((g) => [g.year, g.items.map((i) => i.rel_path), g.more]);

  it('groups the same day of earlier years, newest year first, in each photo’s own offset', async () => {
    const result = await memories.memories(base());
    expect(summary(result)).toEqual([
      [2023, ['m/2023-offset-next.jpg', 'm/2023-day.jpg'], false],
      [2022, ['m/2022-mtime.jpg'], false],
      [2021, ['m/2021-floating.jpg'], false],
      [2020, ['other/2020.mp4'], false],
      [2018, [0, 1, 2, 3, 4].map((i) => `busy/2018-match-${i}.jpg`), false],
      [2017, ['a/2017.jpg'], false],
    ]);
    expect(result.groups[0]).toMatchObject({ from: '2023-03-15', to: '2023-03-16' });
    const day = result.groups[0]!.items[1]!;
    expect(day).toMatchObject({ library: 'main', tag_ids: [tagId], media_type: 'photo', favorite: false });
    expect(result.groups[3]!.items[0]).toMatchObject({ media_type: 'video' });
  });

  it('reads photos without an offset in tz, except EXIF wall-clock dates', async () => {
    const result = await memories.memories({ ...base(), tz: 'America/New_York' });
    const years = summary(result).map(([year]) => year);
    expect(years).toEqual([2023, 2021, 2020, 2018, 2017]);
  });

  it('takes "today" in tz', async () => {
    // 23:30 UTC on the 14th is already the 15th in Tokyo.
    const result = await memories.memories({
      ...base(),
      tz: 'Asia/Tokyo',
      now: new Date('2024-03-14T23:30:00Z'),
    });
    expect(result.groups[0]?.from).toBe('2023-03-15');
  });

  it('week and month spans', async () => {
    const week = await memories.memories({ ...base(), span: 'week', libraryIds: [main], limitPerYear: 500 });
    expect(week.groups[0]?.items.map((i) => i.rel_path)).toEqual([
      'm/2023-offset-next.jpg',
      'm/2023-offset-prev.jpg',
      'm/2023-day.jpg',
      'm/2023-week.jpg',
    ]);
    expect(week.groups.find((g) => g.year === 2018)?.items).toHaveLength(45);
    const month = await memories.memories({
      ...base(),
      span: 'month',
      folder: { dir: 'm', recursive: true },
    });
    expect(summary(month)).toEqual([
      [
        2023,
        [
          'm/2023-offset-next.jpg',
          'm/2023-offset-prev.jpg',
          'm/2023-day.jpg',
          'm/2023-week.jpg',
          'm/2023-month.jpg',
        ],
        false,
      ],
      [2022, ['m/2022-mtime.jpg'], false],
      [2021, ['m/2021-floating.jpg'], false],
    ]);
  });

  it('caps each year and says when there was more, reading past rows that do not match', async () => {
    const result = await memories.memories({ ...base(), limitPerYear: 3 });
    const y2018 = result.groups.find((g) => g.year === 2018)!;
    expect(y2018.items.map((i) => i.rel_path)).toEqual([0, 1, 2].map((i) => `busy/2018-match-${i}.jpg`));
    expect(y2018.more).toBe(true);
    expect(result.groups.find((g) => g.year === 2023)?.more).toBe(false);
  });

  it('honours EXCLUDED_DIRS, folders, libraries and media type', async () => {
    const none = await memories.memories({ ...base(), excludedDirs: [] });
    expect(none.groups.find((g) => g.year === 2023)?.items.map((i) => i.rel_path)).toEqual([
      'm/2023-offset-next.jpg',
      'm/2023-day.jpg',
      '@eaDir/2023-thumb.jpg',
      'x/@eaDir/deep/2023.jpg',
    ]);
    expect(none.groups.some((g) => g.year === 2019)).toBe(true);
    const photosOnly = await memories.memories({ ...base(), mediaType: 'photo' });
    expect(photosOnly.groups.some((g) => g.year === 2020)).toBe(false);
    const archiveOnly = await memories.memories({ ...base(), libraryIds: [archive] });
    expect(summary(archiveOnly)).toEqual([[2017, ['a/2017.jpg'], false]]);
    const folder = await memories.memories({
      ...base(),
      folder: { dir: 'busy', recursive: false },
      limitPerYear: 1,
    });
    expect(summary(folder)).toEqual([[2018, ['busy/2018-match-0.jpg'], true]]);
    expect((await memories.memories({ ...base(), libraryIds: [] })).groups).toEqual([]);
  });
});
