import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { start as startWatcher } from '../../watcher/src/index.ts';
import { CORPUS } from './photo-library-fixture.ts';
import { startTestApi, type TestApi } from './test-api.ts';

/** The photos of the insights library: one with GPS near Arezzo, one in Florence (~60 km, 2005), one without EXIF. */
export const INSIGHT_FILES: Record<string, string> = {
  'tuscany/arezzo.jpg': 'photo/exif-samples__gps_DSCN0010.jpg',
  'tuscany/florence.jpg': 'photo/exif-samples__tests_87_OSError.jpg',
  'noexif.jpg': 'photo/exifr__noexif.jpg',
};

export interface InsightsLibrary {
  t: TestApi;
  base: string;
  root: string;
  send(method: string, pathAndQuery: string, body?: unknown, signal?: AbortSignal): Promise<Response>;
  json<T = Record<string, unknown>>(
    method: string,
    pathAndQuery: string,
    body?: unknown,
    status?: number,
  ): Promise<T>;
  close(): Promise<void>;
}

/**
 * The real api over a small library ingested by the real watcher (one tick), with `env` (the LLM
 * settings of the test), and a signed-in user.
 */
export async function startInsightsLibrary(env: Record<string, string>): Promise<InsightsLibrary> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-insights-'));
  const root = path.join(base, 'main');
  for (const [rel, corpus] of Object.entries(INSIGHT_FILES)) {
    const target = path.join(root, rel);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.copyFile(path.join(CORPUS, corpus), target);
  }
  const t = await startTestApi({
    DATA_DIR: path.join(base, 'data'),
    LIBRARIES: `main=${root}`,
    WATCH_QUICK_INTERVAL_SECONDS: '3600',
    WATCH_FULL_INTERVAL_SECONDS: '86400',
    ...env,
  });
  const watcher = await startWatcher({
    config: t.config,
    database: t.database,
    bus: t.bus,
    logger: pino({ level: 'silent' }),
    maintenance: [],
  });
  await watcher.tickNow();
  await watcher.whenIdle();
  await watcher.stop();
  await t.createUser('alice', 'alice password');
  const token = await t.tokenFor('alice', 'alice password');
  const send = (method: string, pathAndQuery: string, body?: unknown, signal?: AbortSignal) =>
    fetch(`${t.url}${pathAndQuery}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal ? { signal } : {}),
    });
  return {
    t,
    base,
    root,
    send,
    async json<T>(method: string, pathAndQuery: string, body?: unknown, status = 200): Promise<T> {
      const res = await send(method, pathAndQuery, body);
      const text = await res.text();
      if (res.status !== status)
        throw new Error(`${method} ${pathAndQuery}: ${res.status} (wanted ${status}): ${text}`);
      return JSON.parse(text) as T;
    },
    async close() {
      await t.stop();
      await fs.rm(base, { recursive: true, force: true });
    },
  };
}

/** One server-sent event. */
export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/**
 * Read an SSE response event by event: `onEvent` may return true to stop reading (the caller then
 * aborts). Comment lines (heartbeats) are counted.
 */
export async function readSse(
  res: Response,
  onEvent: (e: SseEvent) => boolean | undefined = () => undefined,
): Promise<{ events: SseEvent[]; comments: number }> {
  const events: SseEvent[] = [];
  let comments = 0;
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        let event = 'message';
        const data: string[] = [];
        let comment = false;
        for (const line of frame.split('\n')) {
          if (line.startsWith(':')) comment = true;
          else if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (comment && data.length === 0) {
          comments++;
          continue;
        }
        const parsed: SseEvent = { event, data: JSON.parse(data.join('\n')) as Record<string, unknown> };
        events.push(parsed);
        if (onEvent(parsed)) return { events, comments };
      }
    }
  } finally {
    reader.releaseLock();
  }
  return { events, comments };
}

/** A URL where nothing listens. */
export async function deadUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
