import fs from 'node:fs';

/** One process as /proc shows it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** Single-letter state: R, S, D, Z (zombie), ... */
  state: string;
  /** The executable's name (at most 15 characters). */
  comm: string;
  /** Its arguments joined by spaces (argv[0] first). */
  cmdline: string;
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state ppid pgrp ...`: comm may hold spaces and parentheses, so split at the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state = '?', ppid = '0', pgid = '0'] = stat.slice(close + 2).split(' ');
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, ppid: Number(ppid), pgid: Number(pgid), state, comm, cmdline };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Every process of this machine (this pid namespace), zombies included. */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProcess(Number(name));
    if (info) out.push(info);
  }
  return out;
}

/** Alive: exists and is not a zombie (a dead process nobody has reaped yet). */
export function isAlive(pid: number): boolean {
  const info = readProcess(pid);
  return info !== undefined && info.state !== 'Z';
}

/** The living processes below `root` (children, grandchildren, ...), by parent chain. */
export function descendantsOf(root: number, all = listProcesses()): ProcessInfo[] {
  const byParent = new Map<number, ProcessInfo[]>();
  for (const p of all) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const out: ProcessInfo[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      if (child.state !== 'Z') out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** The living processes of process group `pgid` (a process started `detached` leads its own). */
export function processGroup(pgid: number, all = listProcesses()): ProcessInfo[] {
  return all.filter((p) => p.pgid === pgid && p.state !== 'Z');
}

export const describeProcesses = (ps: ProcessInfo[]): string =>
  ps.map((p) => `${p.pid} (${p.comm}, parent ${p.ppid}): ${p.cmdline}`).join('\n') || '(none)';
