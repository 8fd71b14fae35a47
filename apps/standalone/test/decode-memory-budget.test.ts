import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { hugeCanvasGif } from '@lumen/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningStandalone, repoRoot, spawnStandalone } from './standalone-process.ts';

/**
 * Issue 11, memory amplification: a non-admin user uploads six tiny GIFs that declare a
 * 14000 x 14000 canvas (196 MP, under the 200 MP limit) and asks for their thumbnails at once.
 * libvips decodes a GIF into a full RGBA canvas (784 MB each), so before the decode budget the
 * server went from ~330 MiB to a >3 GiB peak and kept much of it. The real server runs as a child
 * process so that its RSS (VmRSS in /proc/<pid>/status) is measured alone, every 50 ms.
 */

const MiB = 1024 * 1024;
const SIDE = 14_000;
const DEFAULT_BUDGET_MB = 384;
const PEAK_SLACK_MB = 300;
const RETURN_SLACK_MB = 150;
const RETURN_WITHIN_MS = 60_000;
const SETTLED_WINDOW_MS = 3_000;
/** The watcher makes the six thumbnails and previews (one 784 MB decode at a time at most). */
const BURST_END_WITHIN_MS = 120_000;

async function rssBytes(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb[1]) * 1024;
}

/** Samples the child's RSS every 50 ms until stopped; keeps the peak. */
function rssSampler(pid: number) {
  let peak = 0;
  let last = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      last = await rssBytes(pid).catch(() => last);
      peak = Math.max(peak, last);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    peak: () => peak,
    last: () => last,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The median of a few samples over a second, once the process is idle. */
async function idleRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(await rssBytes(pid));
    await sleep(200);
  }
  return samples.sort((a, b) => a - b)[2]!;
}

interface Attack {
  statuses: number[];
  problems: { status: number; type?: string; retryAfter: string | null }[];
  startMb: number;
  peakMb: number;
  /** The last RSS sample. */
  settledMb: number;
  /** From the answers until the watcher was done with the six files, ms. */
  burstMs: number;
  /** When RSS came back within RETURN_SLACK_MB of the start (to stay), ms after the burst. */
  settledAfterMs: number | undefined;
}

async function runAttack(extraEnv: Record<string, string>): Promise<Attack> {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-decode-budget-'));
  const library = path.join(dataDir, 'photos');
  await fs.mkdir(library, { recursive: true });
  const env = {
    DATA_DIR: dataDir,
    LIBRARIES: `main=${library}`,
    SECRET_KEY: randomBytes(32).toString('hex'),
    ADMIN_PASSWORD: 'admin-secret-1',
    // What the start scripts and the image set (docs/operations.md, "Memory").
    MALLOC_ARENA_MAX: '2',
    MALLOC_TRIM_THRESHOLD_: '131072',
    ...extraEnv,
  };
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'user', 'add', 'guest'], {
    cwd: path.join(repoRoot, 'apps/api'),
    env: { ...process.env, ...env, LUMEN_PASSWORD: 'guest-secret-1' },
    encoding: 'utf8',
  });
  expect(cli.status, cli.stderr).toBe(0);

  const running = await spawnStandalone(env);
  server = running;
  const pid = running.child.pid!;
  const login = await fetch(`${running.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'guest', password: 'guest-secret-1' }),
  });
  expect(login.status).toBe(200);
  const auth = { authorization: `Bearer ${((await login.json()) as { token: string }).token}` };
  const me = (await (await fetch(`${running.url}/me`, { headers: auth })).json()) as { is_admin?: boolean };
  expect(me.is_admin ?? false).toBe(false);

  await sleep(1_000);
  const start = await idleRss(pid);
  const sampler = rssSampler(pid);
  stopSampler = () => sampler.stop();

  const names = Array.from({ length: 6 }, (_, i) => `bomb-${i}.gif`);
  for (const [i, name] of names.entries()) {
    const form = new FormData();
    form.append('library', 'main');
    form.append('folder', 'attack');
    form.append('file', new Blob([new Uint8Array(hugeCanvasGif(SIDE, i + 1))]), name);
    const res = await fetch(`${running.url}/image`, { method: 'POST', headers: auth, body: form });
    expect(res.status, await res.clone().text()).toBe(201);
  }
  const answers = await Promise.all(
    names.map((name) =>
      fetch(`${running.url}/image?library=main&path=attack/${name}&size=thumb`, {
        headers: auth,
        signal: AbortSignal.timeout(120_000),
      }),
    ),
  );
  const problems: Attack['problems'] = [];
  for (const res of answers) {
    if (res.status === 200) {
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      await res.arrayBuffer();
    } else {
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const body = (await res.json()) as { type?: string };
      problems.push({ status: res.status, type: body.type, retryAfter: res.headers.get('retry-after') });
    }
  }

  // The burst is over when the thumbnails answered and the watcher has finished with the six files
  // (thumbnail and preview made, refused or failed); the peak covers all of it. Then RSS must be back
  // within RETURN_SLACK_MB of the start, and stay there for SETTLED_WINDOW_MS, within 60 s.
  const watcherDone = async () => {
    for (const name of names) {
      const res = await fetch(`${running.url}/image/metadata?library=main&path=attack/${name}`, {
        headers: auth,
      });
      if (res.status !== 200) return false;
      const row = (await res.json()) as { thumb_status: string; preview_status: string };
      if (row.thumb_status === 'pending' || row.preview_status === 'pending') return false;
    }
    return true;
  };
  const answeredAt = Date.now();
  while (!(await watcherDone())) {
    expect(Date.now() - answeredAt, 'the watcher is still busy with the six files').toBeLessThan(
      BURST_END_WITHIN_MS,
    );
    await sleep(250);
  }
  const burstEndedAt = Date.now();
  let settledAfterMs: number | undefined;
  let calmSince: number | undefined;
  while (Date.now() - burstEndedAt < RETURN_WITHIN_MS) {
    await sleep(50);
    if (sampler.last() > start + RETURN_SLACK_MB * MiB) calmSince = undefined;
    else calmSince ??= Date.now();
    if (calmSince !== undefined && Date.now() - calmSince >= SETTLED_WINDOW_MS) {
      settledAfterMs = calmSince - burstEndedAt;
      break;
    }
  }
  await sampler.stop();
  const metrics = await (await fetch(`${running.url}/metrics`)).text();
  const budgetMb = Number(extraEnv.DECODE_MEMORY_BUDGET_MB ?? DEFAULT_BUDGET_MB);
  expect(metrics).toContain(`lumen_decode_budget_bytes{kind="capacity"} ${budgetMb * MiB}`);
  expect(metrics).toContain('lumen_decode_budget_bytes{kind="in_use"} 0');
  const attack: Attack = {
    statuses: answers.map((r) => r.status),
    problems,
    startMb: Math.round(start / MiB),
    peakMb: Math.round(sampler.peak() / MiB),
    settledMb: Math.round(sampler.last() / MiB),
    burstMs: burstEndedAt - answeredAt,
    settledAfterMs,
  };
  console.log(`decode budget attack (${JSON.stringify(extraEnv)}): ${JSON.stringify(attack)}`);
  return attack;
}

let dataDir: string | undefined;
let server: RunningStandalone | undefined;
let stopSampler: (() => Promise<void>) | undefined;

afterEach(async () => {
  await stopSampler?.();
  stopSampler = undefined;
  await server?.terminate();
  server = undefined;
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

describe('decode memory budget: six 14000x14000 GIFs from a non-admin user', () => {
  it('with the default budget: refused as too large for the budget, RSS stays within budget + 300 MiB and comes back', async () => {
    const attack = await runAttack({});
    expect(attack.peakMb - attack.startMb).toBeLessThanOrEqual(DEFAULT_BUDGET_MB + PEAK_SLACK_MB);
    expect(attack.settledAfterMs, `RSS ${attack.settledMb} MiB, started at ${attack.startMb}`).toBeDefined();
    // 196 MP x 4 bytes = 748 MiB > 384 MiB: refused, never decoded (and never handed to ffmpeg).
    expect(attack.problems).toHaveLength(6);
    for (const problem of attack.problems) {
      expect(problem.status).toBe(415);
      expect(problem.type).toMatch(/thumbnail-unsupported$/);
    }
  }, 240_000);

  it('with a budget that admits one such decode: they run one at a time (or answer 503 + Retry-After), and RSS comes back', async () => {
    const budgetMb = 800;
    const attack = await runAttack({ DECODE_MEMORY_BUDGET_MB: String(budgetMb) });
    expect(attack.peakMb - attack.startMb).toBeLessThanOrEqual(budgetMb + PEAK_SLACK_MB);
    expect(attack.settledAfterMs, `RSS ${attack.settledMb} MiB, started at ${attack.startMb}`).toBeDefined();
    expect(attack.statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    for (const problem of attack.problems) {
      expect(problem.status).toBe(503);
      expect(Number(problem.retryAfter)).toBeGreaterThan(0);
    }
  }, 240_000);
});
