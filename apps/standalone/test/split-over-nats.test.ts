import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deleteBusPrefix } from '@lumen/bus';
import { natsTestUrl, requireNats } from '@lumen/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningService, repoRoot, spawnService } from './standalone-process.ts';

const NATS_URL = natsTestUrl();
const corpus = path.resolve(repoRoot, 'fixtures/corpus');

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('api, watcher and transcoder as separate processes over NATS', () => {
  const prefix = `split_${randomBytes(4).toString('hex')}`;
  let dataDir: string;
  let library: string;
  const services: RunningService[] = [];
  let url: string;
  let token: string;
  /** The watcher's and the transcoder's own ports (METRICS_BIND_URL). */
  let watcherUrl: string;
  let transcoderUrl: string;

  beforeAll(async () => {
    await requireNats(NATS_URL);
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-split-'));
    library = path.join(dataDir, 'photos');
    await fs.mkdir(path.join(library, 'trip'), { recursive: true });
    await fs.copyFile(
      path.join(corpus, 'photo/exif-samples__gps_DSCN0010.jpg'),
      path.join(library, 'trip/gps.jpg'),
    );
    const env = {
      NATS_URL,
      BUS_PREFIX: prefix,
      DATA_DIR: dataDir,
      LIBRARIES: `main=${library}`,
      SECRET_KEY: randomBytes(32).toString('hex'),
      WATCH_QUICK_INTERVAL_SECONDS: '0.5',
      LOG_LEVEL: 'info',
    };
    // The api alone creates no user: the CLI does, as an operator would.
    const cli = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'user', 'add', 'ops', '--admin'],
      {
        cwd: path.join(repoRoot, 'apps/api'),
        env: { ...process.env, ...env, LUMEN_PASSWORD: 'split-secret-1' },
        encoding: 'utf8',
      },
    );
    expect(cli.status, cli.stderr).toBe(0);

    const ownPort = { METRICS_BIND_URL: '127.0.0.1:0' };
    const listening = /"url":"(http:\/\/[^"]+)".*metrics and health listening/;
    const watcher = await spawnService({ app: 'watcher', env: { ...env, ...ownPort }, ready: listening });
    services.push(watcher);
    watcherUrl = watcher.ready;
    const transcoder = await spawnService({
      app: 'transcoder',
      env: { ...env, ...ownPort },
      ready: listening,
    });
    services.push(transcoder);
    transcoderUrl = transcoder.ready;
    const api = await spawnService({ app: 'api', env, ready: /"url":"(http:\/\/[^"]+)"/ });
    services.push(api);
    url = api.ready;
    const res = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'ops', password: 'split-secret-1' }),
    });
    token = ((await res.json()) as { token: string }).token;
  }, 240_000);

  afterAll(async () => {
    for (const s of services.reverse()) await s.terminate();
    await deleteBusPrefix(NATS_URL, prefix).catch(() => undefined);
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('reports the NATS bus as connected in /health', async () => {
    const body = (await (await fetch(`${url}/health`)).json()) as {
      bus: { transport: string; connected: boolean };
    };
    expect(body.bus).toEqual({ transport: 'nats', connected: true });
  });

  it('the watcher and the transcoder answer /health and /metrics on their own port (METRICS_BIND_URL)', async () => {
    const watcherHealth = await fetch(`${watcherUrl}/health`);
    expect(watcherHealth.status).toBe(200);
    expect(await watcherHealth.json()).toMatchObject({
      service: 'watcher',
      ok: true,
      db: { ok: true, dialect: 'sqlite' },
      bus: { transport: 'nats', connected: true },
      libraries: [{ name: 'main', status: 'online' }],
    });
    const watcherMetrics = await until('the scan counted in /metrics', async () => {
      const text = await (await fetch(`${watcherUrl}/metrics`)).text();
      return /lumen_watcher_files_seen_total\{library="main",kind="full"\} [1-9]/.test(text)
        ? text
        : undefined;
    });
    expect(watcherMetrics).toContain('process_resident_memory_bytes');

    const transcoderHealth = await fetch(`${transcoderUrl}/health`);
    expect(transcoderHealth.status).toBe(200);
    expect(await transcoderHealth.json()).toMatchObject({
      service: 'transcoder',
      ok: true,
      bus: { transport: 'nats', connected: true },
      running: 0,
    });
    const transcoderMetrics = await (await fetch(`${transcoderUrl}/metrics`)).text();
    expect(transcoderMetrics).toContain('lumen_transcoder_jobs_running 0');
    expect(transcoderMetrics).toContain('process_resident_memory_bytes');
    expect((await fetch(`${transcoderUrl}/other`)).status).toBe(404);
  });

  it("serves the watcher's thumbnail of a photo in the library", async () => {
    const auth = { authorization: `Bearer ${token}` };
    const thumb = await until('the thumbnail', async () => {
      const meta = await fetch(`${url}/image/metadata?path=trip/gps.jpg`, { headers: auth });
      if (meta.status !== 200) return undefined;
      const body = (await meta.json()) as { thumb_status: string };
      return body.thumb_status === 'ready' ? body : undefined;
    });
    expect(thumb.thumb_status).toBe('ready');
    const res = await fetch(`${url}/image?path=trip/gps.jpg&size=thumb`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
  });

  it('stops every service within 5 s of SIGTERM', async () => {
    for (const s of [...services]) {
      const { code, ms } = await s.terminate();
      expect(code).toBe(0);
      expect(ms).toBeLessThan(5_000);
    }
  });
});
