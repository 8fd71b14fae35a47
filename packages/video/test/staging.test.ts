import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  claimStaging,
  parseStagingName,
  publishFolder,
  releaseStaging,
  removeStaleStaging,
} from '../src/staging.ts';

const host = os.hostname().replace(/[^A-Za-z0-9_-]/g, '_') || 'host';
let dir: string;
let target: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-staging-'));
  target = path.join(dir, 'abcdef');
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited (so surely not alive now). */
async function deadPid(): Promise<number> {
  const child = execa('true');
  const pid = child.pid!;
  await child;
  return pid;
}

async function makeStaging(name: string, ageMs = 0): Promise<string> {
  const entry = path.join(dir, name);
  await fs.mkdir(path.join(entry, 'v0'), { recursive: true });
  await fs.writeFile(path.join(entry, 'v0', 'seg00000.ts'), 'x');
  if (ageMs > 0) {
    const then = new Date(Date.now() - ageMs);
    for (const p of [path.join(entry, 'v0', 'seg00000.ts'), path.join(entry, 'v0'), entry])
      await fs.utimes(p, then, then);
  }
  return entry;
}

describe('staging', () => {
  it('names say which target and writer they belong to', () => {
    const staging = claimStaging(target);
    expect(path.dirname(staging)).toBe(dir);
    expect(parseStagingName(path.basename(staging))).toEqual({ target: 'abcdef', host, pid: process.pid });
    expect(parseStagingName('abcdef')).toBeUndefined();
    expect(parseStagingName('.abcdef.tmp')).toBeUndefined();
  });

  it('removes what a dead local writer left, keeps what a live writer is writing', async () => {
    const dead = await makeStaging(`.abcdef.${host}-${await deadPid()}.0011aabb.tmp`);
    const live = await makeStaging(`.abcdef.${host}-1.0011aabb.tmp`); // pid 1 is always alive
    const mineActive = claimStaging(target);
    await fs.mkdir(mineActive);
    const mineForgotten = await makeStaging(`.abcdef.${host}-${process.pid}.99887766.tmp`);
    const otherTarget = await makeStaging(`.other.${host}-${await deadPid()}.0011aabb.tmp`);

    const removed = await removeStaleStaging(target);

    expect(removed.sort()).toEqual([dead, mineForgotten].sort());
    for (const kept of [live, mineActive, otherTarget]) await expect(fs.stat(kept)).resolves.toBeTruthy();
    await releaseStaging(mineActive);
  });

  it("judges another host's entries by their last write", async () => {
    const fresh = await makeStaging('.abcdef.otherhost-42.0011aabb.tmp');
    const old = await makeStaging('.abcdef.otherhost-43.0011aabb.tmp', 2 * 60 * 60 * 1000);
    expect(await removeStaleStaging(target)).toEqual([old]);
    await expect(fs.stat(fresh)).resolves.toBeTruthy();
  });

  it('a missing parent folder has nothing to clean', async () => {
    expect(await removeStaleStaging(path.join(dir, 'nope', 'abcdef'))).toEqual([]);
  });

  it('publishes by rename; a second writer of the same content finds it there and drops its copy', async () => {
    const first = claimStaging(target);
    const second = claimStaging(target);
    for (const s of [first, second]) {
      await fs.mkdir(s);
      await fs.writeFile(path.join(s, 'master.m3u8'), s);
    }
    expect(await publishFolder(first, target)).toBe('published');
    expect(await publishFolder(second, target)).toBe('existing');
    expect(await fs.readFile(path.join(target, 'master.m3u8'), 'utf8')).toBe(first);
    expect(await fs.readdir(dir)).toEqual(['abcdef']);
    await releaseStaging(first);
  });
});
