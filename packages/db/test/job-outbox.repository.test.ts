import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Database,
  ImageExifRepository,
  JobOutboxRepository,
  LibrariesRepository,
  type LibraryRow,
} from '../src/index.ts';
import { imageFile as file, hash } from './photo-fixtures.ts';
import { ENGINES, openEngine } from './test-engines.ts';

const job = (n: number) => ({
  subject: 'video.ingested',
  dedupId: `video.ingested:${hash(n)}`,
  payload: { n },
});

describe.each(ENGINES)('the job outbox (%s)', (engine) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  let images: ImageExifRepository;
  let outbox: JobOutboxRepository;
  let main: LibraryRow;

  beforeEach(async () => {
    ({ database, cleanup } = await openEngine(engine));
    images = new ImageExifRepository(database.db);
    outbox = new JobOutboxRepository(database.db);
    main = await new LibrariesRepository(database.db).create({ name: 'main', root: '/photos' });
  });
  afterEach(() => cleanup());

  it('stores the jobs with the rows, in their transaction, and pages and deletes them', async () => {
    const { written, outbox: stored } = await images.upsertFollowingEdits(
      [file(main.id, 'a.mp4', hash(1)), file(main.id, 'b.mp4', hash(2))],
      [job(1), job(2)],
    );
    expect(written).toHaveLength(2);
    expect(stored.map((row) => [row.subject, row.dedup_id, JSON.parse(row.payload)])).toEqual([
      ['video.ingested', job(1).dedupId, { n: 1 }],
      ['video.ingested', job(2).dedupId, { n: 2 }],
    ]);
    expect(await outbox.page(0, 10)).toEqual(stored);
    expect(await outbox.page(stored[0]!.id, 10)).toEqual([stored[1]]);
    expect(await outbox.delete([stored[0]!.id, 999_999])).toBe(1);
    expect(await outbox.count()).toBe(1);
  });

  it('a write that fails stores no job', async () => {
    // A row of a library that does not exist (foreign key) fails the whole transaction.
    await expect(
      images.upsertFollowingEdits(
        [file(main.id, 'a.mp4', hash(1)), file(main.id + 100, 'x.mp4', hash(3))],
        [job(1)],
      ),
    ).rejects.toThrow();
    expect(await outbox.count()).toBe(0);
    expect(await database.db.selectFrom('image_exif').select('id').execute()).toEqual([]);
  });
});
