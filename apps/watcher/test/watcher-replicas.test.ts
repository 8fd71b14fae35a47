import fs from 'node:fs';
import path from 'node:path';
import { createNatsBus, currentLeaseHolder, type NatsBus } from '@lumen/bus';
import { type MediaIngestedEvent, WATCHER_LEASE_KEY } from '@lumen/core';
import { natsTestUrl, uniqueJpeg } from '@lumen/test-support';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { start, type WatcherHandle } from '../src/start.ts';
import { natsWorld } from './watcher-harness.ts';

const servers = natsTestUrl();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('watcher replicas share the work through a lease', () => {
  it('one watches, the others stand by; a stopped holder hands over within the lease time, and nothing is ingested twice', async () => {
    // Ticks an hour apart: a standby must take over by watching the lease, not at its next tick.
    const { prefix, root, config, database, observer, cleanup } = await natsWorld('replicas');
    cleanups.push(cleanup);
    const write = async (rel: string) => fs.writeFileSync(path.join(root, rel), await uniqueJpeg(rel));
    await write('a.jpg');
    const ingested: MediaIngestedEvent[] = [];
    await observer.subscribe<MediaIngestedEvent>('media.ingested', (e) => {
      ingested.push(e);
    });

    const watchers = new Map<string, { handle: WatcherHandle; bus: NatsBus }>();
    for (const id of ['w1', 'w2', 'w3']) {
      const bus = await createNatsBus({ servers, prefix, logger: pino({ level: 'silent' }) });
      const handle = await start({
        config: { ...config, env: { ...config.env, REPLICA_ID: id } },
        database,
        bus,
        logger: pino({ level: 'silent' }),
        maintenance: [],
      });
      watchers.set(id, { handle, bus });
      cleanups.push(async () => {
        await handle.stop();
        await bus.close();
      });
    }
    const holder = () => currentLeaseHolder(observer, WATCHER_LEASE_KEY);
    const active = () => [...watchers].filter(([, w]) => w.handle.active()).map(([id]) => id);

    await until('a.jpg ingested', () => ingested.some((e) => e.relPath === 'a.jpg'));
    const first = await holder();
    expect(first).toMatch(/^w[123]$/);
    expect(active()).toEqual([first]);

    // A file the holder has not seen yet (its next tick is a minute away); then it stops cleanly and
    // releases the lease: a standby takes over at once and its first (full) scan finds the file.
    await write('b.jpg');
    const stopped = watchers.get(first!)!;
    await stopped.handle.stop();
    watchers.delete(first!);
    await until('another holder', async () => {
      const now = await holder();
      return now !== undefined && now !== first;
    });
    const second = (await holder())!;
    await until('b.jpg ingested by the new holder', () => ingested.some((e) => e.relPath === 'b.jpg'));
    await until('one active replica', () => active().length === 1 && active()[0] === second);

    // Every file was ingested once: standby replicas did nothing, the new holder's first (full)
    // scan found a.jpg unchanged.
    expect(ingested.map((e) => e.relPath).sort()).toEqual(['a.jpg', 'b.jpg']);
  });
});
