import {
  compareShuffleRank,
  EARTH_RADIUS_KM,
  type GeoPoint,
  haversineKm,
  type PhotoFilters,
  type PhotoSort,
  shuffleBlockBits,
  shuffleBlockOrder,
  shuffleParams,
  shuffleRank,
} from '@lumen/core';
import {
  type Database,
  FavoritesRepository,
  type ImageExifInput,
  ImageExifRepository,
  LibrariesRepository,
  TagsRepository,
  UsersRepository,
} from '../src/index.ts';

/** A photo as the tests describe it; `id` is filled in after insertion. */
export interface FixturePhoto {
  id: number;
  library: 'main' | 'archive';
  path: string;
  dir: string;
  fileName: string;
  mediaType: 'photo' | 'raw' | 'video';
  hash: string | null;
  make: string | null;
  model: string | null;
  lens: string | null;
  lat: number | null;
  lon: number | null;
  date: string | null;
  offset: string | null;
  source: string | null;
}

type Spec = Partial<Omit<FixturePhoto, 'id' | 'dir' | 'fileName'>> & { path: string };

export const PARIS: GeoPoint = { lat: 48.8566, lon: 2.3522 };
const DEG = Math.PI / 180;

/** The point `km` from `start` on bearing `bearing` (degrees). */
export function destination(start: GeoPoint, bearing: number, km: number): GeoPoint {
  const d = km / EARTH_RADIUS_KM;
  const t = bearing * DEG;
  const lat1 = start.lat * DEG;
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(t));
  const lon2 =
    start.lon * DEG +
    Math.atan2(Math.sin(t) * Math.sin(d) * Math.cos(lat1), Math.cos(d) - Math.sin(lat1) * Math.sin(lat2));
  return { lat: lat2 / DEG, lon: ((((lon2 / DEG + 180) % 360) + 360) % 360) - 180 };
}

export const hash = (n: number) => `xxh3-128:${n.toString(16).padStart(32, '0')}`;
const at = (p: GeoPoint) => ({ lat: p.lat, lon: p.lon });

/** Rows chosen to hit every edge: folder prefixes, LIKE wildcards, case, GPS near the poles and ±180°. */
const SPECS: Spec[] = [
  {
    path: 'root.jpg',
    hash: hash(1),
    make: 'Canon',
    model: 'EOS R5',
    lens: 'RF 50mm F1.2',
    ...at(PARIS),
    date: '2021-03-15T10:00:00.000Z',
  },
  {
    path: '2024/a.jpg',
    hash: hash(2),
    make: 'CANON',
    model: 'eos r5',
    ...at(destination(PARIS, 45, 5)),
    date: '2024-01-10T08:00:00.000Z',
  },
  {
    path: '2024/b.arw',
    mediaType: 'raw',
    hash: hash(3),
    make: 'SONY',
    model: 'ILCE-7M3',
    lens: 'FE 35mm F1.8',
    ...at(destination(PARIS, 90, 9.9)),
    date: '2024-01-10T08:00:00.000Z',
  },
  {
    path: '2024/c.mp4',
    mediaType: 'video',
    hash: hash(4),
    ...at(destination(PARIS, 180, 10.1)),
    date: '2024-02-01T00:00:00.000Z',
    source: 'video',
  },
  {
    path: '2024/summer/d.jpg',
    hash: hash(5),
    make: 'Nikon',
    model: 'Z 6',
    lens: 'fe 35mm f1.8',
    ...at(destination(PARIS, 270, 50)),
    date: '2023-07-04T12:00:00.000Z',
    offset: '+02:00',
  },
  { path: '2024/summer/beach/e.jpg', hash: hash(6), make: 'Canon', model: 'EOS 5D', date: null },
  { path: '2024/Summer/f.jpg', hash: hash(7), date: '2022-08-01T09:00:00.000Z' },
  { path: '2024x/g.jpg', hash: hash(8), date: '2019-05-05T05:05:05.000Z' },
  { path: '100%_done/h.jpg', hash: hash(9), date: '2018-01-01T00:00:00.000Z' },
  { path: '100xxdone/sub/i.jpg', hash: hash(10), date: '2018-01-01T00:00:00.000Z' },
  { path: 'a_b/j.jpg', hash: hash(11), date: null },
  { path: 'axb/sub/k.jpg', hash: hash(12), date: '2017-12-31T23:59:59.999Z' },
  { path: 'fiji/east.jpg', hash: hash(13), lat: -17.8, lon: 179.99, date: '2016-06-01T00:00:00.000Z' },
  { path: 'fiji/west.jpg', hash: hash(14), lat: -17.8, lon: -179.99, date: '2016-06-02T00:00:00.000Z' },
  { path: 'fiji/far.jpg', hash: hash(15), lat: -17.8, lon: 179.5, date: '2016-06-03T00:00:00.000Z' },
  { path: 'arctic/n1.jpg', hash: hash(16), lat: 89.95, lon: 0, date: '2015-01-01T00:00:00.000Z' },
  { path: 'arctic/n2.jpg', hash: hash(17), lat: 89.95, lon: 180, date: '2015-01-02T00:00:00.000Z' },
  { path: 'arctic/n3.jpg', hash: hash(18), lat: 89.9, lon: 90, date: '2015-01-03T00:00:00.000Z' },
  {
    path: '2024/dup-of-root.jpg',
    hash: hash(1),
    make: 'Canon',
    model: 'EOS R5',
    date: '2021-03-15T10:00:00.000Z',
  },
  { path: 'nohash.jpg', hash: null, date: '2020-01-01T00:00:00.000Z' },
  { path: 'zz/IMG_0001.jpg', hash: hash(21), date: '2020-01-01T00:00:00.000Z' },
  { path: 'aa/IMG_0001.jpg', hash: hash(22), date: '2020-01-01T00:00:00.000Z' },
  { path: 'clip.mov', mediaType: 'video', hash: hash(23), date: null },
  { library: 'archive', path: '2024/a.jpg', hash: hash(24), date: '2020-05-05T00:00:00.000Z' },
  { library: 'archive', path: 'old/scan.tif', hash: hash(25), date: null, make: 'Epson' },
];

function toFixture(spec: Spec): FixturePhoto {
  const slash = spec.path.lastIndexOf('/');
  return {
    id: 0,
    library: spec.library ?? 'main',
    path: spec.path,
    dir: slash < 0 ? '' : spec.path.slice(0, slash),
    fileName: spec.path.slice(slash + 1),
    mediaType: spec.mediaType ?? 'photo',
    hash: spec.hash === undefined ? null : spec.hash,
    make: spec.make ?? null,
    model: spec.model ?? null,
    lens: spec.lens ?? null,
    lat: spec.lat ?? null,
    lon: spec.lon ?? null,
    date: spec.date ?? null,
    offset: spec.offset ?? null,
    source: spec.source ?? (spec.date ? 'exif' : null),
  };
}

/** A minimal image_exif row for `relPath` (its dir and file name derived), with `extra` on top. */
export function imageFile(
  libraryId: number,
  relPath: string,
  contentHash: string | null = null,
  extra: Partial<ImageExifInput> = {},
): ImageExifInput {
  const slash = relPath.lastIndexOf('/');
  return {
    library_id: libraryId,
    rel_path: relPath,
    dir: slash < 0 ? '' : relPath.slice(0, slash),
    file_name: relPath.slice(slash + 1),
    media_type: 'photo',
    size_bytes: 1000,
    mtime_ms: 1_714_000_000_000,
    content_hash: contentHash,
    ...extra,
  };
}

export function toImageRow(libraryId: number, photo: FixturePhoto): ImageExifInput {
  return {
    library_id: libraryId,
    rel_path: photo.path,
    dir: photo.dir,
    file_name: photo.fileName,
    media_type: photo.mediaType,
    mime_type: photo.mediaType === 'video' ? 'video/mp4' : 'image/jpeg',
    size_bytes: 1000,
    mtime_ms: 1_700_000_000_000,
    content_hash: photo.hash,
    camera_make: photo.make,
    camera_model: photo.model,
    lens_model: photo.lens,
    gps_lat: photo.lat,
    gps_lon: photo.lon,
    date_taken: photo.date,
    date_taken_offset: photo.offset,
    date_taken_source: photo.source,
    width: 4000,
    height: 3000,
  };
}

export interface SeededLibrary {
  photos: FixturePhoto[];
  libraries: { main: number; archive: number };
  users: { alice: number; bob: number };
  tags: { beach: number; family: number; city: number; unused: number };
  /** Tag ids per content hash, as linked. */
  tagsByHash: Map<string, number[]>;
  favoritesByUser: Map<number, Set<string>>;
}

/** Insert the fixture rows, tags and favorites; ids come back in the photos. */
export async function seedPhotoLibrary(database: Database): Promise<SeededLibrary> {
  const libraries = new LibrariesRepository(database.db);
  const main = await libraries.create({ name: 'main', root: '/photos' });
  const archive = await libraries.create({ name: 'archive', root: '/archive' });
  const users = new UsersRepository(database.db);
  const alice = await users.create({ username: 'alice', passwordHash: 'x', isAdmin: false });
  const bob = await users.create({ username: 'bob', passwordHash: 'x', isAdmin: false });

  const photos = SPECS.map(toFixture);
  const libraryId = (p: FixturePhoto) => (p.library === 'main' ? main.id : archive.id);
  const written = await new ImageExifRepository(database.db).upsert(
    photos.map((p) => toImageRow(libraryId(p), p)),
  );
  for (const photo of photos) {
    photo.id = written.find((w) => w.library_id === libraryId(photo) && w.rel_path === photo.path)!.id;
  }

  const tagsRepo = new TagsRepository(database.db);
  const beach = (await tagsRepo.create('Beach')).tag.id;
  const family = (await tagsRepo.create('Family')).tag.id;
  const city = (await tagsRepo.create('City')).tag.id;
  const unused = (await tagsRepo.create('Unused')).tag.id;
  const links: [number, number][] = [
    [beach, 1],
    [beach, 5],
    [beach, 6],
    [beach, 13],
    [family, 1],
    [family, 2],
    [family, 24],
    [city, 1],
    [city, 3],
  ];
  const tagsByHash = new Map<string, number[]>();
  for (const [tagId, n] of links) {
    const photo = photos.find((p) => p.hash === hash(n))!;
    await tagsRepo.addTag(tagId, { libraryId: libraryId(photo), relPath: photo.path, contentHash: hash(n) });
    tagsByHash.set(
      hash(n),
      [...(tagsByHash.get(hash(n)) ?? []), tagId].sort((a, b) => a - b),
    );
  }

  const favorites = new FavoritesRepository(database.db);
  const favoritesByUser = new Map<number, Set<string>>([
    [alice.id, new Set([hash(1), hash(5)])],
    [bob.id, new Set([hash(2)])],
  ]);
  for (const [userId, hashes] of favoritesByUser) {
    for (const h of hashes) {
      const photo = photos.find((p) => p.hash === h)!;
      await favorites.add(userId, { libraryId: libraryId(photo), relPath: photo.path, contentHash: h });
    }
  }

  return {
    photos,
    libraries: { main: main.id, archive: archive.id },
    users: { alice: alice.id, bob: bob.id },
    tags: { beach, family, city, unused },
    tagsByHash,
    favoritesByUser,
  };
}

/** The reference: which fixture photos a filter keeps, computed in JS without SQL. */
export function referenceFilter(seed: SeededLibrary, filters: PhotoFilters): FixturePhoto[] {
  const libraryIdOf = (p: FixturePhoto) => seed.libraries[p.library];
  const same = (value: string | null, wanted: string | undefined) =>
    wanted === undefined || (value !== null && value.toLowerCase() === wanted.toLowerCase());
  return seed.photos.filter((p) => {
    if (!filters.libraryIds.includes(libraryIdOf(p))) return false;
    if (filters.folder) {
      const { dir, recursive } = filters.folder;
      const inside = p.dir === dir || (recursive && (dir === '' || p.dir.startsWith(`${dir}/`)));
      if (!inside) return false;
    }
    if (
      !same(p.make, filters.cameraMake) ||
      !same(p.model, filters.cameraModel) ||
      !same(p.lens, filters.lens)
    ) {
      return false;
    }
    if (filters.gps) {
      if (p.lat === null || p.lon === null) return false;
      if (haversineKm(filters.gps, { lat: p.lat, lon: p.lon }) > filters.gps.radiusKm) return false;
    }
    if (filters.dateFrom !== undefined && (p.date === null || p.date < filters.dateFrom)) return false;
    if (filters.dateTo !== undefined && (p.date === null || p.date > filters.dateTo)) return false;
    if (filters.tags) {
      const tags = (p.hash && seed.tagsByHash.get(p.hash)) || [];
      const wanted = new Set(filters.tags.ids);
      const hits = [...wanted].filter((id) => tags.includes(id)).length;
      if (filters.tags.mode === 'any' ? hits === 0 : hits < wanted.size) return false;
    }
    if (filters.mediaType === 'photo' && p.mediaType === 'video') return false;
    if (filters.mediaType === 'video' && p.mediaType !== 'video') return false;
    if (filters.favoriteOf !== undefined) {
      if (p.hash === null || !seed.favoritesByUser.get(filters.favoriteOf)?.has(p.hash)) return false;
    }
    return true;
  });
}

/**
 * The reference order of a sort (byte order for names, which is what SQLite and C-collation Postgres
 * use). Shuffle: the order of `shuffleSeed` with 2^shuffleBits blocks (by default as many as a
 * repository with 64 rows per block picks for these photos).
 */
export function referenceSort(
  seed: SeededLibrary,
  photos: FixturePhoto[],
  sort: PhotoSort,
  shuffleSeed = 's',
  shuffleBits = shuffleBlockBits(photos.length),
): FixturePhoto[] {
  const byteCompare = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const tagCount = (p: FixturePhoto) => ((p.hash && seed.tagsByHash.get(p.hash)) || []).length;
  const key = shuffleParams(shuffleSeed);
  const order = shuffleBlockOrder(shuffleSeed, shuffleBits);
  const sorted = [...photos];
  const asc = (a: FixturePhoto, b: FixturePhoto): number => {
    switch (sort) {
      case 'NameAsc':
      case 'NameDesc':
        return byteCompare(a.fileName, b.fileName) || byteCompare(a.path, b.path) || a.id - b.id;
      case 'TagCountAsc':
      case 'TagCountDesc':
        return tagCount(a) - tagCount(b) || a.id - b.id;
      case 'Shuffle':
        return compareShuffleRank(shuffleRank(a.id, key, order), shuffleRank(b.id, key, order));
      case 'DateTakenAsc':
      case 'DateTakenDesc':
        return byteCompare(a.date ?? '', b.date ?? '') || a.id - b.id;
    }
  };
  const desc = sort.endsWith('Desc');
  sorted.sort((a, b) => (desc ? -asc(a, b) : asc(a, b)));
  if (sort === 'DateTakenAsc' || sort === 'DateTakenDesc') {
    // Rows without a date come last in both directions.
    return [...sorted.filter((p) => p.date !== null), ...sorted.filter((p) => p.date === null)];
  }
  return sorted;
}
