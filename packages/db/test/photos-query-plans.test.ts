import type { PhotoSearch } from '@lumen/core';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Database,
  type ImageExifInput,
  ImageExifRepository,
  LibrariesRepository,
  PhotosRepository,
  UsersRepository,
} from '../src/index.ts';
import { hash } from './photo-fixtures.ts';
import { tempSqliteFolder } from './temp-sqlite.ts';

// SQLite query plans of the main /photos queries on 20,000 rows, WITHOUT ANALYZE (how a fresh
// database runs): each filter must reach its index, and a date or name page over many matches must
// walk the sort index instead of sorting every match ("USE TEMP B-TREE FOR ORDER BY").
const ROWS = 20_000;
let temp: ReturnType<typeof tempSqliteFolder>;
let database: Database;
let photos: PhotosRepository;
let libraryId: number;
let userId: number;

beforeAll(async () => {
  temp = tempSqliteFolder();
  database = await temp.open();
  libraryId = (await new LibrariesRepository(database.db).create({ name: 'main', root: '/p' })).id;
  await new LibrariesRepository(database.db).create({ name: 'other', root: '/o' });
  userId = (
    await new UsersRepository(database.db).create({ username: 'u', passwordHash: 'x', isAdmin: false })
  ).id;
  const rows: ImageExifInput[] = [];
  for (let n = 0; n < ROWS; n++) {
    const dir = `y${2015 + (n % 5)}/d${n % 50}`;
    rows.push({
      library_id: libraryId,
      rel_path: `${dir}/IMG_${n}.jpg`,
      dir,
      file_name: `IMG_${n}.jpg`,
      media_type: n % 5 === 0 ? 'video' : 'photo',
      size_bytes: 1,
      mtime_ms: 1,
      content_hash: hash(n),
      camera_make: n % 2 === 0 ? 'Canon' : n % 2000 === 1 ? 'Leica' : 'Nikon',
      camera_model: `M${n % 7}`,
      lens_model: `L${n % 3}`,
      gps_lat: n % 10 < 7 ? 40 + (n % 100) / 10 : null,
      gps_lon: n % 10 < 7 ? 10 + (n % 37) / 10 : null,
      date_taken: new Date(Date.UTC(2015, 0, 1) + n * 15_000_000).toISOString(),
    });
  }
  await new ImageExifRepository(database.db).upsert(rows);
  const now = new Date().toISOString();
  for (const name of ['a', 'b', 'c']) {
    await database.db.insertInto('tags').values({ name, name_normalized: name, created_at: now }).execute();
  }
  const links = [];
  for (let n = 0; n < 6000; n++) {
    links.push({
      tag_id: 1 + (n % 3),
      library_id: libraryId,
      rel_path: 'x',
      content_hash: hash(n * 3),
      created_at: now,
    });
  }
  for (let i = 0; i < links.length; i += 1000) {
    await database.db
      .insertInto('tagged_photo')
      .values(links.slice(i, i + 1000))
      .execute();
  }
  photos = new PhotosRepository(database.db, 'sqlite');
  const analyzed = await sql`select name from sqlite_master where name = 'sqlite_stat1'`.execute(database.db);
  expect(analyzed.rows).toEqual([]);
});
afterAll(() => temp.cleanup());

const base = (): PhotoSearch => ({ libraryIds: [libraryId], sort: 'DateTakenDesc', limit: 50 });
const SHUFFLED: Partial<PhotoSearch> = { sort: 'Shuffle', seed: 'plan', limit: 10 };
const SHUFFLE_RANGES = /image_exif_shuffle_idx \(<expr>>\? AND <expr><\?\)/;

describe('query plans without ANALYZE', () => {
  it.each<[string, Partial<PhotoSearch>, RegExp, RegExp]>([
    [
      'a month of dates',
      { dateFrom: '2016-03-01T00:00:00.000Z', dateTo: '2016-03-31T23:59:59.999Z' },
      /image_exif_date_taken_id_content_hash_idx \(date_taken>\? AND date_taken<\?\)/,
      /image_exif_date_taken_id_content_hash_idx \(date_taken>\? AND date_taken<\?\)/,
    ],
    [
      'newest first, no filter',
      {},
      /image_exif_date_taken_id_content_hash_idx/,
      /SCAN ie USING COVERING INDEX/,
    ],
    [
      'by name, no filter',
      { sort: 'NameAsc' },
      /image_exif_file_name_rel_path_id_idx/,
      /SCAN ie USING COVERING INDEX/,
    ],
    [
      'a common camera make (walks the date index)',
      { cameraMake: 'canon' },
      /image_exif_date_taken_id_content_hash_idx/,
      /image_exif_lower_camera_idx/,
    ],
    [
      'a rare camera make (finds it by its index)',
      { cameraMake: 'LEICA' },
      /image_exif_lower_camera_idx/,
      /image_exif_lower_camera_idx/,
    ],
    [
      'lens',
      { lens: 'l1', sort: 'NameDesc' },
      /image_exif_file_name_rel_path_id_idx/,
      /image_exif_lower_lens_idx/,
    ],
    [
      'GPS radius',
      { gps: { lat: 42, lon: 11, radiusKm: 10 } },
      /image_exif_gps_lat_gps_lon_date_taken_idx \(gps_lat>\? AND gps_lat<\?\)/,
      /image_exif_gps_lat_gps_lon_date_taken_idx/,
    ],
    [
      // Many tagged photos: the page walks the date index and probes each row's tags (EXISTS);
      // the COUNT gathers the tagged hashes once by tag.
      'tags any of 3',
      { tags: { ids: [1, 2, 3], mode: 'any' } },
      /image_exif_date_taken_id_content_hash_idx.*EXISTS USING COVERING INDEX tagged_photo_content_hash_tag_id_idx \(content_hash=\?\)/,
      /sqlite_autoindex_tagged_photo_1 \(tag_id=\?\)/,
    ],
    [
      'one folder',
      { folder: { dir: 'y2016/d6', recursive: false } },
      /image_exif_library_id_dir_idx \(library_id=\? AND dir=\?\)/,
      /image_exif_library_id_dir_idx \(library_id=\? AND dir=\?\)/,
    ],
    [
      'a folder tree',
      { folder: { dir: 'y2016', recursive: true }, sort: 'NameAsc' },
      /image_exif_file_name_rel_path_id_idx/,
      /image_exif_library_id_dir_idx \(library_id=\? AND dir>\? AND dir<\?\)/,
    ],
    [
      'favorites',
      { favoriteOf: 1 },
      /sqlite_autoindex_favorites_1 \(user_id=\?\)/,
      /sqlite_autoindex_favorites_1 \(user_id=\?\)/,
    ],
    [
      'videos',
      { mediaType: 'video' },
      /image_exif_date_taken_id_content_hash_idx/,
      /image_exif_media_type_idx/,
    ],
    // A shuffle page reads the scramble ranges of a few blocks (SHUFFLED, see shuffle-blocks.ts).
    ['shuffle, no filter', SHUFFLED, SHUFFLE_RANGES, /SCAN ie USING COVERING INDEX/],
    [
      'shuffle, a common camera make (tests it on the rows of the blocks)',
      { ...SHUFFLED, cameraMake: 'canon' },
      SHUFFLE_RANGES,
      /image_exif_lower_camera_idx/,
    ],
    [
      'shuffle, a rare camera make (finds it by its index)',
      { ...SHUFFLED, cameraMake: 'LEICA' },
      /image_exif_lower_camera_idx/,
      /image_exif_lower_camera_idx/,
    ],
    ['shuffle, videos', { ...SHUFFLED, mediaType: 'video' }, SHUFFLE_RANGES, /image_exif_media_type_idx/],
    [
      'shuffle, tags any of 3',
      { ...SHUFFLED, tags: { ids: [1, 2, 3], mode: 'any' } },
      SHUFFLE_RANGES,
      /sqlite_autoindex_tagged_photo_1 \(tag_id=\?\)/,
    ],
    [
      'shuffle, a year of dates',
      { ...SHUFFLED, dateFrom: '2016-01-01T00:00:00.000Z', dateTo: '2016-12-31T23:59:59.999Z' },
      SHUFFLE_RANGES,
      /image_exif_date_taken_id_content_hash_idx \(date_taken>\? AND date_taken<\?\)/,
    ],
  ])('%s', async (_name, search, pagePlan, countPlan) => {
    const plan = await photos.explainSearch({ ...base(), ...search });
    const page = plan.page.join(' | ');
    const count = plan.count.join(' | ');
    expect(page).toMatch(pagePlan);
    expect(count).toMatch(countPlan);
    // Never a full table scan of image_exif (a scan of an index is fine for COUNT).
    expect(`${page} | ${count}`).not.toMatch(/SCAN ie( |$)(?!USING)/);
    const total = (await photos.search({ ...base(), ...search, userId })).total;
    if (total > 2000 && /^(Name|DateTaken)/.test(search.sort ?? 'DateTakenDesc')) {
      expect(page).not.toMatch(/USE TEMP B-TREE FOR ORDER BY/);
    }
  });

  it('a subset of the libraries does not make SQLite read through the library index', async () => {
    const plan = await photos.explainSearch(base());
    expect(plan.page.join(' | ')).not.toMatch(/image_exif_library_id_dir_idx/);
  });
});
