import fs from 'node:fs';
import path from 'node:path';
import { LibrariesRepository } from '@lumen/db';
import { afterEach, describe, expect, it } from 'vitest';
import { LIBRARY_MARKER_FILE } from '../src/index.ts';
import { copyIn, type Harness, startHarness, waitFor } from './watcher-harness.ts';

describe('the library marker file', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('is written by the first scan; with REQUIRE_LIBRARY_MARKER a library whose marker is gone is Stale', async () => {
    h = await startHarness({
      env: { REQUIRE_LIBRARY_MARKER: 'true' },
      prepare: (root) => {
        copyIn(root, 'photo/exif-samples__Nikon_D70.jpg', 'a/nikon.jpg');
      },
    });
    const harness = h;
    const marker = path.join(harness.root, LIBRARY_MARKER_FILE);
    // A new library has no marker and no rows: it is Online, gets ingested, and gets its marker.
    await waitFor('the first ingest', () => harness.ingested.find((e) => e.relPath === 'a/nikon.jpg'));
    await waitFor('the marker', () => (fs.existsSync(marker) ? true : undefined));
    // The marker is a dot-file: never ingested as media.
    expect(harness.ingested.some((e) => e.relPath.includes(LIBRARY_MARKER_FILE))).toBe(false);

    fs.rmSync(marker);
    await harness.watcher.tickNow();
    const stale = await waitFor('library.status stale', () =>
      harness.statuses.find((s) => s.status === 'stale'),
    );
    expect(stale.reason).toMatch(/marker/);
    const library = await new LibrariesRepository(harness.database.db).findByName('main');
    expect(library?.status).toBe('stale');

    fs.writeFileSync(marker, 'back\n');
    await harness.watcher.tickNow();
    await waitFor('library.status online', () =>
      harness.statuses.find((s) => s.status === 'online' && s.previous === 'stale'),
    );
  });

  it('is written without REQUIRE_LIBRARY_MARKER too, so the check can be turned on later', async () => {
    h = await startHarness({
      prepare: (root) => {
        copyIn(root, 'photo/exif-samples__Nikon_D70.jpg', 'nikon.jpg');
      },
    });
    const harness = h;
    await waitFor('the marker', () =>
      fs.existsSync(path.join(harness.root, LIBRARY_MARKER_FILE)) ? true : undefined,
    );
  });
});
