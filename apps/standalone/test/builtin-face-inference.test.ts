import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStandalone, repoRoot, spawnStandalone } from './standalone-process.ts';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('pnpm start with FACE_INFERENCE=builtin', () => {
  let dataDir: string;
  let server: RunningStandalone;
  let faces: { url: string; pid: number };

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-builtin-faces-'));
    server = await spawnStandalone({
      DATA_DIR: dataDir,
      BASE_PATH: '',
      LIBRARIES: '',
      SECRET_KEY: '',
      ADMIN_PASSWORD: '',
      LOG_LEVEL: 'info',
      FACE_INFERENCE: 'builtin',
      APOLLO_FACE_API_BASE_URL: '',
      APOLLO_API_BASE_URL: '',
    });
    const line = server
      .output()
      .split('\n')
      .find((l) => l.includes('"built-in face inference started"'));
    expect(line, server.output()).toBeDefined();
    faces = JSON.parse(line as string) as { url: string; pid: number };
  }, 180_000);

  afterAll(async () => {
    await server?.terminate();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('runs the face service on loopback, loads it, and detects', async () => {
    expect(faces.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const deadline = Date.now() + 90_000;
    let health = await fetch(`${faces.url}/healthz`);
    while (health.status === 503 && Date.now() < deadline) {
      expect(Number(health.headers.get('retry-after'))).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 500));
      health = await fetch(`${faces.url}/healthz`);
    }
    expect(health.status).toBe(200);
    const info = (await (await fetch(`${faces.url}/v1/info`)).json()) as {
      model: string;
      embeddingDim: number;
    };
    expect(info.embeddingDim).toBe(1024);
    const portrait = await fs.readFile(path.join(repoRoot, 'fixtures/corpus/photo/mei__Canon_EOS_7D.jpg'));
    const res = await fetch(`${faces.url}/v1/faces/detect`, {
      method: 'POST',
      body: new Uint8Array(portrait),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { faces: unknown[] }).faces).toHaveLength(1);
  }, 120_000);

  it('starts a killed face service again on the same address', async () => {
    const killed = faces.pid;
    process.kill(killed, 'SIGKILL');
    const deadline = Date.now() + 90_000;
    let again: { url: string; pid: number } | undefined;
    while (!again && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      const line = server
        .output()
        .split('\n')
        .find((l) => l.includes('"built-in face inference started again"'));
      if (line) again = JSON.parse(line) as { url: string; pid: number };
    }
    expect(again, server.output()).toBeDefined();
    expect(again?.url).toBe(faces.url);
    expect(again?.pid).not.toBe(killed);
    let health = await fetch(`${faces.url}/healthz`);
    while (health.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      health = await fetch(`${faces.url}/healthz`);
    }
    expect(health.status).toBe(200);
    faces = again as { url: string; pid: number };
  }, 120_000);

  it('stops the face service with the process', async () => {
    expect(isAlive(faces.pid)).toBe(true);
    const { code } = await server.terminate();
    expect(code).toBe(0);
    const deadline = Date.now() + 5_000;
    while (isAlive(faces.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(isAlive(faces.pid)).toBe(false);
  });
});
