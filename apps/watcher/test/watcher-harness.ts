import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Bus, createMemoryBus, createNatsBus, deleteBusPrefix, type NatsBus } from '@lumen/bus';
import { type Config, type LibraryStatusEvent, type MediaIngestedEvent, parseConfig } from '@lumen/core';
import { type Database, openDatabase } from '@lumen/db';
import { natsTestUrl, requireNats } from '@lumen/test-support';
import pino from 'pino';
import { start, type WatcherDeps, type WatcherHandle } from '../src/start.ts';

export const CORPUS = path.resolve(import.meta.dirname, '../../../fixtures/corpus');

export interface Harness {
  base: string;
  /** The root of the library `main`. */
  root: string;
  /** Every library's root by name (`main` and the `extraLibraries`). */
  roots: Record<string, string>;
  thumbnailsDir: string;
  database: Database;
  bus: Bus;
  watcher: WatcherHandle;
  ingested: MediaIngestedEvent[];
  statuses: LibraryStatusEvent[];
  logs: Record<string, unknown>[];
  /** Move the watcher's clock (missing_since, the grace period) forward. */
  advanceClock(ms: number): void;
  close(): Promise<void>;
}

/** Copy a corpus file into the library (the corpus itself is read-only; copies are writable). */
export function copyIn(root: string, corpusRel: string, relTarget: string): string {
  const target = path.join(root, relTarget);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(path.join(CORPUS, corpusRel), target);
  fs.chmodSync(target, 0o644);
  return target;
}

/** A watcher over a real temp library, a real SQLite file and the in-process bus. */
export async function startHarness(opts: {
  prepare: (root: string, roots: Record<string, string>) => void | Promise<void>;
  env?: Record<string, string>;
  /** More libraries besides `main`, each with an empty root folder of its own. */
  extraLibraries?: string[];
  /** Passed on to `start`. */
  deps?: Pick<WatcherDeps, 'maintenance' | 'previewQueueLimit' | 'onPhase' | 'missingScanFs'>;
}): Promise<Harness> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-watcher-'));
  const root = path.join(base, 'library');
  fs.mkdirSync(root);
  const roots: Record<string, string> = { main: root };
  for (const name of opts.extraLibraries ?? []) {
    roots[name] = path.join(base, name);
    fs.mkdirSync(roots[name]);
  }
  await opts.prepare(root, roots);
  const config = parseConfig(
    {
      DATA_DIR: path.join(base, 'data'),
      LIBRARIES: Object.entries(roots)
        .map(([name, libraryRoot]) => `${name}=${libraryRoot}`)
        .join(','),
      WATCH_QUICK_INTERVAL_SECONDS: '0.3',
      WATCH_FULL_INTERVAL_SECONDS: '3600',
      INGEST_FILE_TIMEOUT_SECONDS: '30',
      LOG_LEVEL: 'silent',
      ...opts.env,
    },
    base,
  );
  const database = await openDatabase(config.database);
  const bus = createMemoryBus();
  const ingested: MediaIngestedEvent[] = [];
  const statuses: LibraryStatusEvent[] = [];
  await bus.subscribe<MediaIngestedEvent>('media.ingested', (e) => {
    ingested.push(e);
  });
  await bus.subscribe<LibraryStatusEvent>('library.status', (e) => {
    statuses.push(e);
  });
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: process.env.TEST_LOG_LEVEL ?? 'info' },
    {
      write(line: string) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (process.env.TEST_LOG_LEVEL) process.stderr.write(line);
      },
    },
  );
  let clockOffset = 0;
  const now = () => Date.now() + clockOffset;
  const watcher = await start({ config, database, bus, logger, now, ...opts.deps });
  return {
    base,
    root,
    roots,
    thumbnailsDir: config.thumbnailsDir,
    database,
    bus,
    watcher,
    ingested,
    statuses,
    logs,
    advanceClock(ms) {
      clockOffset += ms;
    },
    async close() {
      await watcher.stop();
      await bus.close();
      await database.close();
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Poll `check` until it returns a value other than undefined/false, or fail after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A library folder, a SQLite database and an observer bus on a fresh NATS prefix, for replica tests. */
export interface NatsWorld {
  prefix: string;
  base: string;
  root: string;
  config: Config;
  database: Database;
  observer: NatsBus;
}

/**
 * A NATS world whose watchers tick rarely (scans only when a test asks) and hold a 2 s lease; the
 * returned cleanup closes and removes everything (the NATS prefix too).
 */
export async function natsWorld(name: string): Promise<NatsWorld & { cleanup(): Promise<void> }> {
  const servers = natsTestUrl();
  await requireNats(servers);
  const prefix = `${name}_${randomBytes(4).toString('hex')}`;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `lumen-${name}-`));
  const root = path.join(base, 'library');
  fs.mkdirSync(root, { recursive: true });
  const config = parseConfig(
    {
      DATA_DIR: path.join(base, 'data'),
      LIBRARIES: `main=${root}`,
      WATCH_QUICK_INTERVAL_SECONDS: '3600',
      WATCH_FULL_INTERVAL_SECONDS: '86400',
      WATCHER_LEASE_SECONDS: '2',
      LOG_LEVEL: 'silent',
    },
    base,
  );
  const database = await openDatabase(config.database);
  const observer = await createNatsBus({ servers, prefix, logger: pino({ level: 'silent' }) });
  return {
    prefix,
    base,
    root,
    config,
    database,
    observer,
    async cleanup() {
      await observer.close();
      await database.close();
      await deleteBusPrefix(servers, prefix);
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
