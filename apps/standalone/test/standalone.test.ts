import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStandalone, spawnStandalone } from './standalone-process.ts';

const login = (url: string, username: string, password: string) =>
  fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });

describe('pnpm start (standalone, first start on an empty DATA_DIR)', () => {
  let dataDir: string;
  let server: RunningStandalone;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-standalone-'));
    // As a DATA_DIR made with a plain mkdir would be: start must narrow it.
    await fs.chmod(dataDir, 0o755);
    // No BASE_PATH/LIBRARIES, no SECRET_KEY, no ADMIN_PASSWORD: everything is made on first start.
    server = await spawnStandalone({
      DATA_DIR: dataDir,
      BASE_PATH: '',
      LIBRARIES: '',
      SECRET_KEY: '',
      ADMIN_PASSWORD: '',
    });
  }, 180_000);

  afterAll(async () => {
    await server?.terminate();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('answers /health with ok', async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; bus: { transport: string } };
    expect(body.status).toBe('ok');
    expect(body.bus.transport).toBe('memory');
  });

  it('creates a sample library of a dozen photos and two videos', async () => {
    const root = path.join(dataDir, 'sample-library');
    const files = (await fs.readdir(root, { recursive: true })).map(String);
    const photos = files.filter((f) => /\.(jpe?g|png|webp)$/i.test(f));
    const videos = files.filter((f) => /\.(mp4|webm)$/i.test(f));
    expect(photos.length).toBe(12);
    expect(videos.length).toBe(2);
  });

  it('prints a generated admin password once that logs in', async () => {
    const m = /Created user "admin" with password: (\S+)/.exec(server.output());
    expect(m).not.toBeNull();
    const res = await login(server.url, 'admin', m![1]!);
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const me = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { username: string }).username).toBe('admin');
  });

  it("serves the watcher's and the maintenance metrics on the api's /metrics", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain('http_request_duration_seconds');
    expect(text).toContain('lumen_watcher_files_seen_total');
    expect(text).toContain('lumen_maintenance_');
  });

  it('keeps a generated SECRET_KEY in DATA_DIR', async () => {
    const key = (await fs.readFile(path.join(dataDir, 'secret.key'), 'utf8')).trim();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps the database, the key and its folders for its own account: 0600 files, 0700 folders', async () => {
    const mode = async (name: string) => (await fs.stat(path.join(dataDir, name))).mode & 0o777;
    expect(await mode('.')).toBe(0o700);
    for (const file of ['lumen.db', 'lumen.db-wal', 'lumen.db-shm', 'secret.key']) {
      expect({ file, mode: await mode(file) }).toEqual({ file, mode: 0o600 });
    }
    for (const dir of ['thumbnails', 'video', 'gifs', 'preview-clips', 'upload-staging']) {
      expect({ dir, mode: await mode(dir) }).toEqual({ dir, mode: 0o700 });
    }
  });

  it('refuses a request without a token with 401 problem+json', async () => {
    const res = await fetch(`${server.url}/me`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('stops cleanly within 5 s of SIGTERM', async () => {
    const { code, ms } = await server.terminate();
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5_000);
  });
});

describe('pnpm start with ADMIN_PASSWORD and a restart', () => {
  it('creates admin with ADMIN_PASSWORD, and a restart keeps users, key and library', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-standalone-'));
    try {
      const env = {
        DATA_DIR: dataDir,
        BASE_PATH: '',
        LIBRARIES: '',
        SECRET_KEY: '',
        ADMIN_PASSWORD: 'correct horse',
      };
      const first = await spawnStandalone(env);
      const res = await login(first.url, 'admin', 'correct horse');
      expect(res.status).toBe(200);
      const { token } = (await res.json()) as { token: string };
      expect(first.output()).not.toContain('Created user "admin" with password');
      await first.terminate();

      const second = await spawnStandalone({ ...env, ADMIN_PASSWORD: 'another password' });
      // the token signed by the first run still verifies: the key was kept
      const me = await fetch(`${second.url}/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(me.status).toBe(200);
      // admin existed already: its password is unchanged
      expect((await login(second.url, 'admin', 'correct horse')).status).toBe(200);
      await second.terminate();
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});

describe('a bad configuration', () => {
  it('stops with a message that names the variable', async () => {
    await expect(
      spawnStandalone({ WATCH_QUICK_INTERVAL_SECONDS: 'soon', DATA_DIR: os.tmpdir() }, 30_000),
    ).rejects.toThrow(/WATCH_QUICK_INTERVAL_SECONDS: must be a number/);
  });
});
