import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Outputs are written into a staging sibling of their final path and renamed into place when
 * complete (a rename within one folder is atomic), so a player never sees half a playlist.
 *
 * A staging name says who writes it: `.<target name>.<host>-<pid>.<random>.tmp`. A crashed writer
 * leaves its staging entry behind; `removeStaleStaging` deletes the entries of one target that no
 * live writer owns, before that target is made again.
 */

const HOST = os.hostname().replace(/[^A-Za-z0-9_-]/g, '_') || 'host';
const STAGING_NAME = /^\.(.+)\.([A-Za-z0-9_-]+)-(\d+)\.[0-9a-f]{8}\.tmp$/;

/** Staging entries this process is writing right now (several transcoders may share a process). */
const activeStaging = new Set<string>();

/** An entry untouched for this long is stale whoever wrote it (covers writers on other hosts). */
export const FOREIGN_STAGING_STALE_MS = 60 * 60 * 1000;

export interface StagingOwner {
  target: string;
  host: string;
  pid: number;
}

/** Reads a staging entry's name; undefined for any other name. */
export function parseStagingName(name: string): StagingOwner | undefined {
  const match = STAGING_NAME.exec(name);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  return { target: match[1], host: match[2], pid: Number(match[3]) };
}

/** A fresh staging path beside `target`, registered as in use until `releaseStaging`. */
export function claimStaging(target: string): string {
  const name = `.${path.basename(target)}.${HOST}-${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const staging = path.join(path.dirname(target), name);
  activeStaging.add(staging);
  return staging;
}

/** Deletes what is left of a staging entry and forgets it. */
export async function releaseStaging(staging: string): Promise<void> {
  try {
    await fs.rm(staging, { recursive: true, force: true });
  } finally {
    activeStaging.delete(staging);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Newest mtime of an entry and, for a folder, of what it holds one and two levels down. */
async function lastWrite(entry: string): Promise<number> {
  const stat = await fs.stat(entry);
  let newest = stat.mtimeMs;
  if (!stat.isDirectory()) return newest;
  for (const child of await fs.readdir(entry, { withFileTypes: true })) {
    const childPath = path.join(entry, child.name);
    newest = Math.max(newest, (await fs.stat(childPath)).mtimeMs);
    if (child.isDirectory()) {
      for (const grandchild of await fs.readdir(childPath)) {
        newest = Math.max(newest, (await fs.stat(path.join(childPath, grandchild))).mtimeMs);
      }
    }
  }
  return newest;
}

async function isStale(entry: string, owner: StagingOwner, staleAfterMs: number): Promise<boolean> {
  if (owner.host === HOST) {
    if (owner.pid === process.pid) return !activeStaging.has(entry);
    if (!processAlive(owner.pid)) return true;
  }
  // Another host, or a live pid that may have been reused: judge by the last write.
  return Date.now() - (await lastWrite(entry)) > staleAfterMs;
}

/**
 * Removes the staging entries of `target` left by writers that are gone. Returns the removed paths.
 * A missing parent folder is fine (nothing to clean).
 */
export async function removeStaleStaging(
  target: string,
  staleAfterMs = FOREIGN_STAGING_STALE_MS,
): Promise<string[]> {
  const parent = path.dirname(target);
  const targetName = path.basename(target);
  let names: string[];
  try {
    names = await fs.readdir(parent);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    const owner = parseStagingName(name);
    if (!owner || owner.target !== targetName) continue;
    const entry = path.join(parent, name);
    try {
      if (await isStale(entry, owner, staleAfterMs)) {
        await fs.rm(entry, { recursive: true, force: true });
        removed.push(entry);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // its writer finished meanwhile
    }
  }
  return removed;
}

/**
 * Renames a finished staging folder onto `target`. Resolves `'existing'` (and drops the staging
 * folder) when another writer published the same content first.
 */
export async function publishFolder(staging: string, target: string): Promise<'published' | 'existing'> {
  try {
    await fs.rename(staging, target);
    return 'published';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    await releaseStaging(staging);
    return 'existing';
  }
}

/** Renames a finished staging file onto `target` (replacing an older one, atomically). */
export async function publishFile(staging: string, target: string): Promise<void> {
  await fs.rename(staging, target);
}
