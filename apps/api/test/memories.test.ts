import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryGroupView } from '../src/services/memories.service.ts';
import {
  EXCLUDED_DIR,
  libraryModel,
  type ModelPhoto,
  type PhotoLibrary,
  startPhotoLibrary,
} from './photo-library-fixture.ts';
import { problemOf } from './test-api.ts';

const DAY = 86_400_000;

/** Today's date in a zone, as [year, month, day] (written here without core's helpers). */
function todayIn(tz: string): [number, number, number] {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  })
    .format(new Date())
    .split('-')
    .map(Number);
  return [parts[0]!, parts[1]!, parts[2]!];
}

/**
 * The year whose memory a local date (YYYY-MM-DD) belongs to, or undefined: `day` is the same month
 * and day, `week` within three days of it, `month` the same month, in an earlier year.
 */
function memoryYear(
  localDate: string,
  span: 'day' | 'week' | 'month',
  today: [number, number, number],
): number | undefined {
  const [y, m, d] = localDate.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = today;
  if (span === 'month') return m === tm && y < ty ? y : undefined;
  const photo = Date.UTC(y, m - 1, d);
  for (const year of [y - 1, y, y + 1]) {
    if (year >= ty) continue;
    const centre = Date.UTC(year, tm - 1, td);
    const distance = Math.abs(photo - centre) / DAY;
    if (span === 'day' ? distance === 0 : distance <= 3) return year;
  }
  return undefined;
}

describe('GET /memories', () => {
  let lib: PhotoLibrary;
  let model: ModelPhoto[];

  const memories = (query = '') => lib.getJson<{ groups: MemoryGroupView[] }>(`/memories${query}`);

  /** The groups the model predicts: year -> sorted keys (newest year first). */
  function predicted(
    span: 'day' | 'week' | 'month',
    tz: string,
    filter: (p: ModelPhoto) => boolean = () => true,
  ) {
    const today = todayIn(tz);
    const byYear = new Map<number, string[]>();
    for (const p of model) {
      if (!filter(p) || p.localDate === null || p.dir.split('/').includes(EXCLUDED_DIR)) continue;
      const year = memoryYear(p.localDate, span, today);
      if (year === undefined) continue;
      byYear.set(year, [...(byYear.get(year) ?? []), `${p.library}:${p.path}`].sort());
    }
    return [...byYear.entries()].sort(([a], [b]) => b - a).map(([year, keys]) => ({ year, keys }));
  }
  const actual = (groups: MemoryGroupView[]) =>
    groups.map((g) => ({ year: g.year, keys: g.items.map((i) => `${i.library}:${i.path}`).sort() }));

  beforeAll(async () => {
    lib = await startPhotoLibrary();
    model = libraryModel(lib);
  });
  afterAll(async () => {
    await lib?.close();
  });

  it('groups the photos of this week in earlier years by year, newest first, oldest photo first', async () => {
    const { groups } = await memories();
    expect(actual(groups)).toEqual(predicted('week', 'UTC'));
    const year = new Date().getUTCFullYear();
    // The photos made for this test are there (others from the corpus may be too).
    const paths = groups.flatMap((g) => g.items.map((i) => i.path));
    expect(paths).toEqual(
      expect.arrayContaining([
        'memories/same-day-4y.jpg',
        'memories/two-days-later-4y.jpg',
        'memories/same-day-8y.jpg',
      ]),
    );
    expect(paths).not.toContain('memories/far-4y.jpg');
    expect(groups.map((g) => g.year)).toEqual(expect.arrayContaining([year - 4, year - 8]));
    for (const group of groups) {
      const dates = group.items.map((i) => i.date_taken!);
      expect(dates).toEqual([...dates].sort());
      expect(group.more).toBe(false);
      expect(group.from < group.to).toBe(true);
    }
    // Same item shape as /photos.
    const item = groups.find((g) => g.year === year - 8)!.items[0]!;
    expect(item).toMatchObject({
      library: 'main',
      path: 'memories/same-day-8y.jpg',
      media_type: 'photo',
      camera_make: 'MemoryCam',
      tag_ids: [],
      favorite: false,
    });
    expect(item.thumbnail_url).toContain('size=thumb');
  });

  it(`leaves out EXCLUDED_DIRS (${EXCLUDED_DIR}), which /photos still lists`, async () => {
    const { groups } = await memories('?span=week');
    const paths = groups.flatMap((g) => g.items.map((i) => i.path));
    expect(paths).not.toContain('memories/private/excluded-4y.jpg');
    const photos = await lib.getJson<{ items: { path: string }[] }>('/photos?path=memories/private');
    expect(photos.items.map((i) => i.path)).toEqual(['memories/private/excluded-4y.jpg']);
  });

  it.each(['day', 'week', 'month'] as const)('span=%s', async (span) => {
    const { groups } = await memories(`?span=${span}`);
    expect(actual(groups)).toEqual(predicted(span, 'UTC'));
    const paths = groups.flatMap((g) => g.items.map((i) => i.path));
    expect(paths.includes('memories/two-days-later-4y.jpg')).toBe(span !== 'day');
    expect(paths).toContain('memories/same-day-4y.jpg');
  });

  it.each(['Pacific/Kiritimati', 'Pacific/Pago_Pago', 'Europe/Paris'])(
    'today is today in tz=%s',
    async (tz) => {
      const { groups } = await memories(`?tz=${encodeURIComponent(tz)}`);
      expect(actual(groups)).toEqual(predicted('week', tz));
    },
  );

  it('limits to a folder, recursively or not', async () => {
    const inMemories = (p: ModelPhoto) => p.dir === 'memories' || p.dir.startsWith('memories/');
    expect(actual((await memories('?path=memories')).groups)).toEqual(predicted('week', 'UTC', inMemories));
    expect(actual((await memories('?path=memories&recursive=false')).groups)).toEqual(
      predicted('week', 'UTC', (p) => p.dir === 'memories'),
    );
    expect(actual((await memories('?path=travel/madrid')).groups)).toEqual(
      predicted('week', 'UTC', (p) => p.dir === 'travel/madrid'),
    );
    expect((await memories('?library=archive&path=memories')).groups).toEqual([]);
  });

  it('caps the items per year and says there were more', async () => {
    const { groups } = await memories('?path=memories&limit_per_year=1');
    const year = new Date().getUTCFullYear();
    const four = groups.find((g) => g.year === year - 4)!;
    expect(four.items.map((i) => i.path)).toEqual(['memories/same-day-4y.jpg']);
    expect(four.more).toBe(true);
  });

  it('rejects bad parameters by name', async () => {
    for (const [query, name] of [
      ['?span=year', 'span'],
      ['?tz=Mars/Olympus_Mons', 'tz'],
      ['?limit_per_year=0', 'limit_per_year'],
      ['?path=../x', 'path'],
      ['?recursive=perhaps', 'recursive'],
    ]) {
      const problem = await problemOf(await lib.send('GET', `/memories${query}`));
      expect(problem.status, query).toBe(400);
      expect(problem.errors?.map((e) => e.name)).toContain(name);
    }
    expect((await problemOf(await lib.send('GET', '/memories?library=nope'))).status).toBe(404);
  });
});
