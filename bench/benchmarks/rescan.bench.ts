/**
 * Rescan of an unchanged tree of 100,000 small files in 1,000 folders by the real watcher (a
 * process of its own), against `find <root> -printf '%s %T@\n'` over the same tree in the same run.
 *
 *   LUMEN_BENCH_RESCAN_FILES=10000 pnpm bench rescan    # a quick try on a smaller tree
 */
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig, storedMtimeMs } from '@lumen/core';
import { type ImageExifInput, ImageExifRepository, LibrariesRepository, openDatabase } from '@lumen/db';
import { hashFile } from '@lumen/media';
import { type BenchContext, type Benchmark, type BenchRow, positiveInt, row } from '../benchmark.ts';
import { type SmallFileTree, smallFileTree, TREE_DATE } from '../fixtures/small-file-tree.ts';
import type { RescanReport, RescanRequest } from '../fixtures/watcher-rescan-process.ts';
import { median } from '../stats.ts';

const FILES = positiveInt('LUMEN_BENCH_RESCAN_FILES', 100_000);
const FOLDERS = positiveInt('LUMEN_BENCH_RESCAN_FOLDERS', 1_000);
const ROUNDS = 3;
/** Rows per upsert transaction when the database is filled. */
const INSERT_BATCH = 1_000;
const CHILD_TIMEOUT_MS = 600_000;
const CHILD = fileURLToPath(new URL('../fixtures/watcher-rescan-process.ts', import.meta.url));
const FIND_ARGS = ['-printf', '%s %T@\\n'];

/**
 * A database that already knows every file of the tree, as a finished first ingest leaves it:
 * rows with the files' size and mtime, their content hash, thumbnail and preview 'ready'. Written
 * directly (upserts of 1,000 rows per transaction, about 5 s) rather than by ingesting 100,000
 * files (many minutes); the full rescan then reporting no new, changed or retried file shows the
 * rows are what the scan expects.
 */
async function fillDatabase(env: Record<string, string>, cwd: string, tree: SmallFileTree): Promise<void> {
  const config = parseConfig(env, cwd);
  const database = await openDatabase(config.database);
  try {
    const [library] = await new LibrariesRepository(database.db).upsertConfigured(config.libraries);
    if (!library) throw new Error('the library was not created');
    const imageExif = new ImageExifRepository(database.db);
    const first = tree.folders[0]!;
    const contentHash = await hashFile(path.join(tree.root, first.dir, first.files[0]!));
    let batch: ImageExifInput[] = [];
    for (const { dir, files } of tree.folders) {
      for (const name of files) {
        const relPath = `${dir}/${name}`;
        const stat = fs.statSync(path.join(tree.root, relPath));
        batch.push({
          library_id: library.id,
          rel_path: relPath,
          dir,
          file_name: name,
          media_type: 'photo',
          mime_type: 'image/jpeg',
          size_bytes: stat.size,
          mtime_ms: storedMtimeMs(stat.mtimeMs),
          content_hash: contentHash,
          camera_make: 'LumenBench',
          camera_model: 'Tiny',
          width: 16,
          height: 16,
          orientation: 1,
          date_taken: '2020-01-01T12:00:00.000Z',
          date_taken_source: 'exif',
          thumb_status: 'ready',
          preview_status: 'ready',
        });
        if (batch.length === INSERT_BATCH) {
          await imageExif.upsert(batch);
          batch = [];
        }
      }
    }
    await imageExif.upsert(batch);
  } finally {
    await database.close();
  }
}

/** `find <root> -printf '%s %T@\n' > /dev/null`, timed from spawn to exit (ms). */
async function timeFind(root: string): Promise<number> {
  const devNull = fs.openSync('/dev/null', 'w');
  try {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn('find', [root, ...FIND_ARGS], { stdio: ['ignore', devNull, 'inherit'] });
      const timer = setTimeout(() => child.kill(), CHILD_TIMEOUT_MS);
      child.on('error', reject);
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`find exited with ${code}`));
      });
    });
    return performance.now() - started;
  } finally {
    fs.closeSync(devNull);
  }
}

/**
 * A synchronous walk with a stat per file, on the main thread: what the event loop would be blocked
 * for if the watcher walked like this. Returns its duration (ms) and the files seen.
 */
function timeSynchronousWalk(root: string): { ms: number; files: number } {
  const started = performance.now();
  let files = 0;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = `${dir}/${entry.name}`;
      if (entry.isDirectory()) stack.push(full);
      else if (entry.isFile()) {
        fs.statSync(full);
        files++;
      }
    }
  }
  return { ms: performance.now() - started, files };
}

/** One watcher process: full rescan then quick rescan (see watcher-rescan-process.ts). */
function runWatcherProcess(request: RescanRequest): Promise<RescanReport> {
  return new Promise<RescanReport>((resolve, reject) => {
    const child = fork(CHILD, [JSON.stringify(request)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let report: RescanReport | undefined;
    let failure: string | undefined;
    const timer = setTimeout(() => child.kill(), CHILD_TIMEOUT_MS);
    child.on('message', (m: { ok: true; report: RescanReport } | { ok: false; error: string }) => {
      if (m.ok) report = m.report;
      else failure = m.error;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (report) resolve(report);
      else reject(new Error(`the watcher process failed (${code ?? signal}): ${failure ?? 'no report'}`));
    });
  });
}

function checkNothingReingested(report: RescanReport): void {
  for (const scan of [report.full, report.quick]) {
    const redone = scan.new + scan.changed + scan.retried;
    if (!scan.completed || scan.seen !== FILES || redone > 0) {
      throw new Error(`the ${scan.kind} rescan of an unchanged tree is wrong: ${JSON.stringify(scan)}`);
    }
  }
  if (report.full.kind !== 'full' || report.quick.kind !== 'quick') {
    throw new Error(`expected a full then a quick scan, got ${report.full.kind}, ${report.quick.kind}`);
  }
  if (report.ingestedEvents > 0) throw new Error(`${report.ingestedEvents} files were ingested again`);
}

async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const tree = await smallFileTree(FILES, FOLDERS, ctx.log);
  const base = await mkdtemp(path.join(os.tmpdir(), 'lumen-bench-rescan-'));
  try {
    const env = {
      DATA_DIR: path.join(base, 'data'),
      LIBRARIES: `bench=${tree.root}`,
      // Ticks only when asked: the first (full) at start, one quick by tickNow().
      WATCH_QUICK_INTERVAL_SECONDS: '86400',
      WATCH_FULL_INTERVAL_SECONDS: '86400',
      LOG_LEVEL: 'warn',
    };
    const filled = performance.now();
    await fillDatabase(env, base, tree);
    ctx.log(`database filled with ${FILES} rows in ${((performance.now() - filled) / 1000).toFixed(1)} s`);

    // Warm the dentry and inode caches for everyone.
    await timeFind(tree.root);
    const warm = timeSynchronousWalk(tree.root);
    if (warm.files !== FILES) throw new Error(`the tree has ${warm.files} files, expected ${FILES}`);

    const finds: number[] = [];
    const walks: number[] = [];
    const reports: RescanReport[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      finds.push(await timeFind(tree.root));
      walks.push(timeSynchronousWalk(tree.root).ms);
      const report = await runWatcherProcess({ env, cwd: base });
      checkNothingReingested(report);
      reports.push(report);
      ctx.log(
        `round ${round}: find ${finds.at(-1)!.toFixed(0)} ms, synchronous walk ${walks.at(-1)!.toFixed(0)} ms, ` +
          `watcher full ${report.full.durationMs} ms (${report.full.comparedDirs} directory queries, ` +
          `${report.fullWallMs.toFixed(0)} ms from start()), quick ${report.quick.durationMs} ms, ` +
          `longest stall ${report.maxStallMs.toFixed(1)} ms (p99 ${report.p99StallMs.toFixed(1)}), ` +
          `RSS idle ${report.idleRssMb.toFixed(0)} MB, peak ${report.peakSampledRssMb.toFixed(0)} MB, ` +
          `high-water ${report.peakRssMb.toFixed(0)} MB`,
      );
    }

    const find = median(finds);
    const findLabel = "find <root> -printf '%s %T@\\n' > /dev/null";
    const name = `watcher rescan, unchanged tree of ${FILES} files in ${FOLDERS} folders`;
    return [
      row({
        name,
        metric: 'full rescan: walk + one query per folder, nothing to ingest',
        value: median(reports.map((r) => r.full.durationMs)),
        unit: 'ms',
        baseline: findLabel,
        baselineValue: find,
        note: 'lower is better; target <= 5, mark 3',
      }),
      row({
        name,
        metric: 'quick rescan: walk, no folder modified since the last scan',
        value: median(reports.map((r) => r.quick.durationMs)),
        unit: 'ms',
        baseline: findLabel,
        baselineValue: find,
        note: 'lower is better',
      }),
      row({
        name,
        metric: 'longest event-loop stall during the full rescan (worst round)',
        value: Math.max(...reports.map((r) => r.maxStallMs)),
        unit: 'ms',
        baseline: 'a synchronous walk with stat on the main thread (blocks it throughout)',
        baselineValue: median(walks),
        note: 'lower is better; the walk runs in a worker thread',
      }),
      row({
        name,
        metric: 'peak RSS of the watcher process (high-water mark, worst round)',
        value: Math.max(...reports.map((r) => r.peakRssMb)),
        unit: 'MB',
        baseline: 'the same process idle before the scan',
        baselineValue: median(reports.map((r) => r.idleRssMb)),
        note: 'target: peak <= 300 MB',
      }),
    ];
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

const benchmark: Benchmark = {
  title: 'Rescan of an unchanged tree',
  description:
    `A tree of ${FILES} small JPEGs in ${FOLDERS} folders (dated ${TREE_DATE.toISOString().slice(0, 10)}) that ` +
    `the database already knows: its rows are written directly (size, mtime, hash, thumbnail and preview ready, ` +
    `as a finished ingest leaves them) instead of ingesting ${FILES} files first. The watcher runs in a ` +
    `process of its own, like the service: its first tick is a full scan (walk in a worker thread, one ` +
    `query per folder, nothing to ingest; a run fails if any file is new, changed, retried or announced), ` +
    `then one quick scan. Scan times are the watcher's own scan summaries. Baseline in the same run: ` +
    `find -printf '%s %T@' over the same tree, and a synchronous readdir+stat walk on the main thread ` +
    `for the event-loop row. Dentry and inode caches warmed first; ${ROUNDS} rounds, median (worst round ` +
    `for the stall and the RSS). RSS: the watcher process's high-water mark (VmHWM, its whole life, ` +
    `start-up included); idle: the same process with everything loaded, before start().`,
  run,
};

export default benchmark;
