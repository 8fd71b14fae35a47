import fs from 'node:fs';
import path from 'node:path';
import { makeThumbnail, thumbPaths } from '@lumen/media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS, type Harness, startHarness } from './watcher-harness.ts';

const FILES = 16;
const QUEUE_LIMIT = 2;

let h: Harness;

async function previewStatuses(): Promise<Record<string, number>> {
  const rows = await h.database.db.selectFrom('image_exif').select(['preview_status']).execute();
  const counts: Record<string, number> = {};
  for (const row of rows) counts[row.preview_status] = (counts[row.preview_status] ?? 0) + 1;
  return counts;
}

beforeAll(async () => {
  h = await startHarness({
    // One file at a time, so rows arrive while thumbnails are still being made and the previews
    // pile up behind them; no full scan after the first (it would also queue pending previews).
    env: {
      INGEST_CONCURRENCY: '1',
      WATCH_QUICK_INTERVAL_SECONDS: '3600',
      WATCH_FULL_INTERVAL_SECONDS: '3600',
    },
    deps: { previewQueueLimit: QUEUE_LIMIT },
    async prepare(root) {
      // Distinct content per file (each needs a preview of its own).
      const source = path.join(CORPUS, 'photo/exif-samples__Canon_40D.jpg');
      for (let i = 0; i < FILES; i++) {
        await makeThumbnail(source, path.join(root, 'many', `p${String(i).padStart(2, '0')}.jpg`), {
          size: 100 + i,
        });
      }
    },
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('the preview backlog', () => {
  it('drains through a small preview queue on quick ticks, without waiting for a full scan', async () => {
    await h.watcher.tickNow(); // the first (full) tick, then a quick one
    await h.watcher.whenIdle();
    const registry = await h.watcher.registry.getMetricsAsJSON();
    const deferred = registry.find((m) => m.name === 'lumen_watcher_previews_deferred_total')?.values[0]
      ?.value;
    expect(deferred, 'previews turned away by the full queue').toBeGreaterThan(0);

    for (let tick = 0; tick < 2 * FILES && (await previewStatuses()).pending; tick++) {
      await h.watcher.tickNow();
      await h.watcher.whenIdle();
      expect(h.watcher.lastScans()).toEqual([expect.objectContaining({ kind: 'quick' })]);
    }

    expect(await previewStatuses()).toEqual({ ready: FILES });
    const rows = await h.database.db.selectFrom('image_exif').select(['content_hash']).execute();
    for (const row of rows)
      expect(fs.existsSync(thumbPaths(h.thumbnailsDir, row.content_hash!).preview)).toBe(true);
  });
});
