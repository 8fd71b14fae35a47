import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { uniqueJpeg } from '@lumen/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStandalone, spawnStandalone } from './standalone-process.ts';

/**
 * Issue 11, item 6: uploads killed mid-way (SIGKILL, nothing runs on the way out) leave
 * `.upload-*.part` files in the target folder and in DATA_DIR/upload-staging. The next start
 * removes the ones nobody wrote to for an hour (the api its staging folder before it listens, the
 * watcher's first scan the library's), keeps younger ones (maybe another replica's upload in
 * progress), and never ingests any of them.
 */

const PASSWORD = 'upload leftovers admin password';
const BOUNDARY = 'lumen-leftover-boundary';
const HOUR_MS = 60 * 60 * 1000;

const env = (dataDir: string, root: string) => ({
  DATA_DIR: dataDir,
  LIBRARIES: `main=${root}`,
  SECRET_KEY: 'upload-leftovers-secret-key-0123456789abcdef',
  ADMIN_PASSWORD: PASSWORD,
  LOG_LEVEL: 'info',
});

async function login(url: string): Promise<Record<string, string>> {
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  return { authorization: `Bearer ${((await res.json()) as { token: string }).token}` };
}

/**
 * An upload whose body sends `head` and then nothing more: the request stays in flight (the file
 * half written under its temporary name) until the server dies.
 */
function stalledUpload(url: string, headers: Record<string, string>, head: Buffer): Promise<unknown> {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(head));
      // never closed
    },
  });
  return fetch(`${url}/image`, {
    method: 'POST',
    headers: { ...headers, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    body,
    duplex: 'half',
  } as RequestInit).catch((err: unknown) => err);
}

const field = (name: string, value: string) =>
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const filePart = (jpeg: Buffer) =>
  Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="slow.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    jpeg.subarray(0, jpeg.length - 100),
  ]);

async function partFiles(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter((name) => /^\.upload-[0-9a-f]{16}\.part$/.test(name)).sort();
  } catch {
    return [];
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('upload leftovers after a SIGKILL', () => {
  let base: string;
  let dataDir: string;
  let root: string;
  let staging: string;
  let target: string;
  let server: RunningStandalone | undefined;
  /** The leftovers the kill made, then aged by two hours. */
  let aged: { staging: string[]; target: string[] };
  const fresh = '.upload-0123456789abcdef.part';

  beforeAll(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-leftovers-'));
    dataDir = path.join(base, 'data');
    root = path.join(base, 'library');
    staging = path.join(dataDir, 'upload-staging');
    target = path.join(root, 'uploads');
    await fs.mkdir(root, { recursive: true });
    await fs.writeFile(path.join(root, 'a.jpg'), await uniqueJpeg('leftovers a'));

    server = await spawnStandalone(env(dataDir, root));
    const headers = await login(server.url);
    const jpeg = await uniqueJpeg('slow upload');
    // Fields first: the file streams into the library folder. File first: it is staged in DATA_DIR.
    const intoTarget = stalledUpload(
      server.url,
      headers,
      Buffer.concat([Buffer.from(field('library', 'main') + field('folder', 'uploads')), filePart(jpeg)]),
    );
    const intoStaging = stalledUpload(server.url, headers, filePart(jpeg));
    await waitFor('both uploads to be half written', async () => {
      const files = [...(await partFiles(staging)), ...(await partFiles(target))];
      return files.length === 2 ? files : undefined;
    });
    const killed = server.child;
    const exited = new Promise((resolve) => killed.once('exit', resolve));
    killed.kill('SIGKILL');
    await exited;
    server = undefined;
    await Promise.all([intoTarget, intoStaging]);

    aged = { staging: await partFiles(staging), target: await partFiles(target) };
    const twoHoursAgo = new Date(Date.now() - 2 * HOUR_MS);
    for (const name of aged.staging) await fs.utimes(path.join(staging, name), twoHoursAgo, twoHoursAgo);
    for (const name of aged.target) await fs.utimes(path.join(target, name), twoHoursAgo, twoHoursAgo);
    // Younger ones (a whole JPEG, even): maybe uploads in progress elsewhere; kept, never ingested.
    await fs.writeFile(path.join(staging, fresh), jpeg);
    await fs.writeFile(path.join(target, fresh), jpeg);
    await fs.writeFile(path.join(root, fresh), jpeg);

    server = await spawnStandalone(env(dataDir, root));
  }, 240_000);

  afterAll(async () => {
    await server?.terminate();
    await fs.rm(base, { recursive: true, force: true });
  });

  it('the kill left one temporary file in the staging folder and one in the target folder', () => {
    expect(aged.staging).toHaveLength(1);
    expect(aged.target).toHaveLength(1);
  });

  it('the api removed the staging leftover before it answered, and kept the young one', async () => {
    expect(await partFiles(staging)).toEqual([fresh]);
  });

  it("the watcher's first scan removes the library leftover and keeps the young ones", async () => {
    await waitFor(
      'the library leftover to go',
      async () => ((await partFiles(target)).length === 1 ? true : undefined),
      20_000,
    );
    expect(await partFiles(target)).toEqual([fresh]);
    expect(await partFiles(root)).toEqual([fresh]);
    const metrics = await (await fetch(`${server!.url}/metrics`)).text();
    expect(metrics).toContain('lumen_watcher_upload_leftovers_removed_total{library="main"} 1');
  });

  it('ingests none of them', async () => {
    // The scan's duration is set once its files are ingested.
    await waitFor('the first scan to finish', async () => {
      const metrics = await (await fetch(`${server!.url}/metrics`)).text();
      return /lumen_watcher_last_scan_seconds\{library="main",kind="full"\}/.test(metrics) ? true : undefined;
    });
    const headers = await login(server!.url);
    const res = await fetch(`${server!.url}/photos?limit=100`, { headers });
    const page = (await res.json()) as { items: { path: string }[] };
    expect(page.items.map((item) => item.path)).toEqual(['a.jpg']);
  });
});
