import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** infra/healthcheck.mjs, the health check of every container, run as the engine runs it. */

const script = path.resolve(import.meta.dirname, '../healthcheck.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-healthcheck-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the check (its tmp folder is ours) and resolves with its exit status and stderr. */
function check(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      { env: { ...process.env, TMPDIR: tmp, ...env }, timeout: 20_000 },
      (err, _stdout, stderr) => resolve({ status: err ? Number(err.code ?? 1) : 0, stderr }),
    );
  });
}

describe('watcher and transcoder: the heartbeat file', () => {
  const heartbeat = path.join(tmp, 'lumen-watcher.alive');

  it('is healthy while the heartbeat is fresh', async () => {
    fs.writeFileSync(heartbeat, new Date().toISOString());
    expect(await check(['watcher'])).toEqual({ status: 0, stderr: '' });
  });

  it('is unhealthy when the heartbeat is older than a minute (a hung event loop)', async () => {
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(heartbeat, old, old);
    const result = await check(['watcher']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/unhealthy: heartbeat .*lumen-watcher\.alive is 1\d\d s old/);
  });

  it('is unhealthy without a heartbeat file (the service never started)', async () => {
    const result = await check(['transcoder']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no heartbeat file');
  });

  it('names the services it knows when it is given another', async () => {
    const result = await check(['painter']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('pass one of api, watcher, transcoder, standalone, face-inference');
  });
});

describe('api and standalone: GET /health on the port of BIND_URL', () => {
  const servers: http.Server[] = [];
  const serve = async (status: number): Promise<number> => {
    const server = http.createServer((req, res) =>
      res.writeHead(req.url === '/health' ? status : 404).end('{}'),
    );
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  let ok: number;
  let failing: number;
  beforeAll(async () => {
    ok = await serve(200);
    failing = await serve(503);
  });
  afterAll(() => {
    for (const server of servers) server.close();
  });

  it('is healthy when /health answers 200', async () => {
    expect(await check(['api'], { BIND_URL: `0.0.0.0:${ok}` })).toEqual({ status: 0, stderr: '' });
  });

  it('is unhealthy when /health answers 503 (the database does not answer)', async () => {
    const result = await check(['api'], { BIND_URL: `0.0.0.0:${failing}` });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`http://127.0.0.1:${failing}/health answered 503`);
  });

  it('is unhealthy when nothing listens', async () => {
    const closed = await serve(200);
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const result = await check(['api'], { BIND_URL: `127.0.0.1:${closed}` });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`http://127.0.0.1:${closed}/health`);
  });

  it('face-inference: GET /healthz on FACE_INFERENCE_PORT (503 while its model loads), and its heartbeat', async () => {
    const serveHealthz = async (status: number) => {
      const server = http.createServer((req, res) =>
        res.writeHead(req.url === '/healthz' ? status : 404).end('{}'),
      );
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return String((server.address() as AddressInfo).port);
    };
    const loadingPort = await serveHealthz(503);
    const readyPort = await serveHealthz(200);
    const loading = await check(['face-inference'], { FACE_INFERENCE_PORT: loadingPort });
    expect(loading.status).toBe(1);
    expect(loading.stderr).toContain(`http://127.0.0.1:${loadingPort}/healthz answered 503`);
    expect((await check(['face-inference'], { FACE_INFERENCE_PORT: readyPort })).stderr).toContain(
      'no heartbeat file',
    );
    fs.writeFileSync(path.join(tmp, 'lumen-face-inference.alive'), 'now');
    expect(await check(['face-inference'], { FACE_INFERENCE_PORT: readyPort })).toEqual({
      status: 0,
      stderr: '',
    });
  });

  it('standalone: needs both /health and the heartbeat of the one process (lumen)', async () => {
    const heartbeat = path.join(tmp, 'lumen-lumen.alive');
    expect((await check(['standalone'], { BIND_URL: `0.0.0.0:${ok}` })).stderr).toContain(
      'no heartbeat file',
    );
    fs.writeFileSync(heartbeat, 'now');
    expect(await check(['standalone'], { BIND_URL: `0.0.0.0:${ok}` })).toEqual({ status: 0, stderr: '' });
  });
});
