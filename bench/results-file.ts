/** bench/results/latest.json: the last result of every benchmark, keyed by benchmark name. */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { BenchRow } from './benchmark.ts';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
}

export interface BenchmarkResult {
  title: string;
  description: string;
  date: string;
  durationMs: number;
  machine: MachineInfo;
  rows: BenchRow[];
}

export interface ResultsFile {
  benchmarks: Record<string, BenchmarkResult>;
}

export function machineInfo(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

export async function readResults(path: string): Promise<ResultsFile> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<ResultsFile>;
    return { benchmarks: parsed.benchmarks ?? {} };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { benchmarks: {} };
    throw err;
  }
}

/** Replaces the entries of the benchmarks that ran and keeps the others. */
export function mergeResults(previous: ResultsFile, fresh: Record<string, BenchmarkResult>): ResultsFile {
  const benchmarks = { ...previous.benchmarks, ...fresh };
  const sorted = Object.fromEntries(Object.entries(benchmarks).sort(([a], [b]) => a.localeCompare(b)));
  return { benchmarks: sorted };
}

export async function writeResults(path: string, results: ResultsFile): Promise<void> {
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
}
