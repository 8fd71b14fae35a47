/**
 * Runs the benchmarks in bench/benchmarks/*.bench.ts (all, or those whose file
 * name contains one of the arguments), merges their rows into
 * bench/results/latest.json and regenerates the tables in docs/PERFORMANCE.md.
 *
 *   pnpm bench                 # everything
 *   pnpm bench job-roundtrip   # one benchmark
 *   pnpm bench -- --dry job    # run and print, write nothing
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchContext, Benchmark } from './benchmark.ts';
import { updatePerformanceDoc } from './performance-doc.ts';
import {
  type BenchmarkResult,
  machineInfo,
  mergeResults,
  readResults,
  writeResults,
} from './results-file.ts';
import { significant } from './stats.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const benchmarksDir = join(benchDir, 'benchmarks');
const resultsPath = join(benchDir, 'results', 'latest.json');
const docPath = join(benchDir, '..', 'docs', 'PERFORMANCE.md');
const SUFFIX = '.bench.ts';

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  const dry = args.includes('--dry');
  const filters = args.filter((a) => !a.startsWith('--'));

  const names = (await readdir(benchmarksDir))
    .filter((file) => file.endsWith(SUFFIX))
    .map((file) => basename(file, SUFFIX))
    .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
    .sort();
  if (names.length === 0) {
    console.error(`no benchmark in ${benchmarksDir} matches ${filters.join(', ')}`);
    process.exitCode = 1;
    return;
  }

  const ctx: BenchContext = {
    natsUrl: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    log: (message) => console.log(`  ${message}`),
  };
  const fresh: Record<string, BenchmarkResult> = {};
  for (const name of names) {
    const mod = (await import(pathToFileURL(join(benchmarksDir, `${name}${SUFFIX}`)).href)) as {
      default: Benchmark;
    };
    const benchmark = mod.default;
    console.log(`\n# ${name}: ${benchmark.title}`);
    const started = performance.now();
    const rows = (await benchmark.run(ctx)).map((r) => ({
      ...r,
      value: significant(r.value, 4),
      baselineValue: significant(r.baselineValue, 4),
      ratio: significant(r.ratio, 4),
    }));
    const durationMs = Math.round(performance.now() - started);
    fresh[name] = {
      title: benchmark.title,
      description: benchmark.description,
      date: new Date().toISOString(),
      durationMs,
      machine: machineInfo(),
      rows,
    };
    console.table(
      rows.map((r) => ({
        name: r.name,
        metric: r.metric,
        value: `${r.value} ${r.unit}`,
        baseline: `${r.baselineValue} ${r.unit}`,
        ratio: r.ratio,
      })),
    );
    console.log(`  (${(durationMs / 1000).toFixed(1)} s)`);
  }

  if (dry) return;
  const results = mergeResults(await readResults(resultsPath), fresh);
  await writeResults(resultsPath, results);
  await updatePerformanceDoc(docPath, results);
  console.log(`\nwrote ${resultsPath} and ${docPath}`);
}

await main();
