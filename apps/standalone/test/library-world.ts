import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hashPassword, start as startApi } from '@lumen/api';
import { createMemoryBus } from '@lumen/bus';
import { type MediaIngestedEvent, parseConfig } from '@lumen/core';
import { type Database, openDatabase, UsersRepository } from '@lumen/db';
import { uniqueJpeg } from '@lumen/test-support';
import { start as startWatcher, type TickPhase, type WatcherHandle } from '@lumen/watcher';
import pino, { type Logger } from 'pino';

/**
 * The watcher loop and the api in one process, over real folders, a real SQLite file and the
 * in-process bus: what `pnpm start` runs, with the ticks driven by the test (`tick()`), the
 * watcher's clock movable (`advanceClock`) and a hook at every phase of a tick (`at`).
 */
export interface LibraryWorld {
  base: string;
  roots: Record<string, string>;
  database: Database;
  watcher: WatcherHandle;
  url: string;
  /** The admin's `Authorization` header (for requests the helpers below do not make). */
  authHeaders: Record<string, string>;
  /** Every media.ingested event, in order. */
  ingested: MediaIngestedEvent[];
  /** Run `action` once, at `phase` of a coming tick (the tick waits for it). */
  at(phase: TickPhase, action: () => void | Promise<void>): void;
  advanceClock(ms: number): void;
  tick(n?: number): Promise<void>;
  get<T = unknown>(url: string): Promise<{ status: number; body: T }>;
  post<T = unknown>(url: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** `library:path` of every photo /photos lists (all pages). */
  listed(): Promise<string[]>;
  /** Tag names of one photo through GET /image/tags (null when the api answers 404). */
  tagsOf(library: string, relPath: string): Promise<string[] | null>;
  /** `library:path` of the admin's favorites through GET /favorites. */
  favorites(): Promise<string[]>;
  libraryStatus(name: string): Promise<Record<string, unknown>>;
  /** Rows of each library in image_exif and image_exif_missing, as `library:path`, sorted. */
  rows(): Promise<{ present: string[]; missing: string[] }>;
  /** Tag links and favorites in the database, by content hash. */
  derivedCount(): Promise<{ tags: number; favorites: number }>;
  close(): Promise<void>;
}

export async function writeJpeg(root: string, relPath: string, label = `${root}/${relPath}`): Promise<void> {
  const file = path.join(root, relPath);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await uniqueJpeg(label));
}

const ADMIN_PASSWORD = 'library world admin password';

export async function startLibraryWorld(opts: {
  /** Library name -> files to create in it (relative paths). */
  libraries: Record<string, string[]>;
  env?: Record<string, string>;
  /** Where the watcher and the api log (silent unless TEST_LOG_LEVEL is set). */
  logger?: Logger;
}): Promise<LibraryWorld> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-world-'));
  const roots: Record<string, string> = {};
  for (const [name, files] of Object.entries(opts.libraries)) {
    roots[name] = path.join(base, 'mnt', name);
    fs.mkdirSync(roots[name], { recursive: true });
    for (const file of files) await writeJpeg(roots[name], file);
  }
  const config = parseConfig(
    {
      DATA_DIR: path.join(base, 'data'),
      LIBRARIES: Object.entries(roots)
        .map(([name, root]) => `${name}=${root}`)
        .join(','),
      BIND_URL: '127.0.0.1:0',
      SECRET_KEY: 'library-world-secret-key-0123456789abcdef',
      WATCH_QUICK_INTERVAL_SECONDS: '3600',
      WATCH_FULL_INTERVAL_SECONDS: '3600',
      LOG_LEVEL: 'silent',
      ...opts.env,
    },
    base,
  );
  const database = await openDatabase(config.database);
  const bus = createMemoryBus();
  const ingested: MediaIngestedEvent[] = [];
  await bus.subscribe<MediaIngestedEvent>('media.ingested', (e) => {
    ingested.push(e);
  });
  const logger = opts.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const hooks: { phase: TickPhase; action: () => void | Promise<void> }[] = [];
  let clockOffset = 0;
  const watcher = await startWatcher({
    config,
    database,
    bus,
    logger,
    now: () => Date.now() + clockOffset,
    async onPhase(phase) {
      const index = hooks.findIndex((h) => h.phase === phase);
      if (index < 0) return;
      const [hook] = hooks.splice(index, 1);
      await hook!.action();
    },
  });
  const api = await startApi({ config, database, bus, logger });
  await new UsersRepository(database.db).create({
    username: 'admin',
    passwordHash: await hashPassword(ADMIN_PASSWORD),
    isAdmin: true,
  });
  const login = await fetch(`${api.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  const { token } = (await login.json()) as { token: string };
  const headers = { authorization: `Bearer ${token}` };

  const request = async <T>(method: string, url: string, body?: unknown) => {
    const res = await fetch(`${api.url}${url}`, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  type Page = { items: { library: string; path: string }[]; next_cursor: string | null };
  const allPages = async (url: string) => {
    const out: string[] = [];
    let cursor: string | null = null;
    do {
      const sep = url.includes('?') ? '&' : '?';
      const page: { status: number; body: Page } = await request<Page>(
        'GET',
        `${url}${sep}sort=NameAsc&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      if (page.status !== 200) throw new Error(`${url}: ${page.status} ${JSON.stringify(page.body)}`);
      out.push(...page.body.items.map((item) => `${item.library}:${item.path}`));
      cursor = page.body.next_cursor;
    } while (cursor);
    return out.sort();
  };

  // The first tick (a full scan of every library) runs at once; tickNow waits for it.
  await watcher.tickNow();
  await watcher.whenIdle();

  return {
    base,
    roots,
    database,
    watcher,
    url: api.url,
    authHeaders: headers,
    ingested,
    at(phase, action) {
      hooks.push({ phase, action });
    },
    advanceClock(ms) {
      clockOffset += ms;
    },
    async tick(n = 1) {
      for (let i = 0; i < n; i++) await watcher.tickNow();
      await watcher.whenIdle();
    },
    get: (url) => request('GET', url),
    post: (url, body) => request('POST', url, body),
    listed: () => allPages('/photos'),
    async tagsOf(library, relPath) {
      const res = await request<{ name: string }[]>(
        'GET',
        `/image/tags?library=${encodeURIComponent(library)}&path=${encodeURIComponent(relPath)}`,
      );
      if (res.status === 404) return null;
      if (res.status !== 200) throw new Error(`tags of ${relPath}: ${res.status}`);
      return res.body.map((tag) => tag.name).sort();
    },
    favorites: () => allPages('/favorites'),
    async libraryStatus(name) {
      const res = await request<Record<string, unknown>[]>('GET', '/libraries');
      const library = res.body.find((l) => l.name === name);
      if (!library) throw new Error(`no library ${name}`);
      return library;
    },
    async rows() {
      const read = async (table: 'image_exif' | 'image_exif_missing') =>
        (
          await database.db
            .selectFrom(`${table} as t` as 'image_exif as t')
            .innerJoin('libraries as l', 'l.id', 't.library_id')
            .select(['l.name', 't.rel_path'])
            .execute()
        )
          .map((r) => `${r.name}:${r.rel_path}`)
          .sort();
      return { present: await read('image_exif'), missing: await read('image_exif_missing') };
    },
    async derivedCount() {
      const count = async (table: 'tagged_photo' | 'favorites') =>
        Number(
          (
            await database.db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      return { tags: await count('tagged_photo'), favorites: await count('favorites') };
    },
    async close() {
      await api.stop();
      await watcher.stop();
      await bus.close();
      await database.close();
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
