/**
 * First-scan ingest of a generated library of 12 MP JPEGs by the real watcher (walk, EXIF, content
 * hash, SQLite rows, bus events, thumbnails first, then previews), against bare sharp making the same
 * thumbnails and previews of the same files at the same concurrency, in the same run.
 *
 *   LUMEN_BENCH_INGEST_FILES=100 pnpm bench ingest     # a quick try on fewer files (default 1000)
 *   LUMEN_BENCH_INGEST_ROUNDS=1 pnpm bench ingest      # fewer rounds (default 3)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createMemoryBus } from '@lumen/bus';
import { parseConfig } from '@lumen/core';
import { openDatabase } from '@lumen/db';
import { start } from '@lumen/watcher';
import sharp from 'sharp';
import { type BenchContext, type Benchmark, type BenchRow, positiveInt, row } from '../benchmark.ts';
import { createBenchLogger, quietBusLogger } from '../fixtures/bench-logger.ts';
import { type PhotoLibrary, photoLibrary } from '../fixtures/photo-library.ts';
import { forEachConcurrently } from '../task-pool.ts';

const FILES = positiveInt('LUMEN_BENCH_INGEST_FILES', 1000);
const ROUNDS = positiveInt('LUMEN_BENCH_INGEST_ROUNDS', 3);
/** The watcher's default ingest concurrency and sharp thread count (start.ts): one per core. */
const CORES = os.availableParallelism();
const THUMB_SIZE = 200;
const PREVIEW_SIZE = 1440;
/** A run that takes longer than this is stuck: fail rather than hang (about 2 s per file). */
const RUN_TIMEOUT_MS = Math.max(120_000, FILES * 2_000);

/** What @lumen/media's makeThumbnail / makePreview ask of sharp, minus their temp-file-and-rename. */
const OPEN = { limitInputPixels: 200_000_000, failOn: 'none', sequentialRead: true } as const;

interface RunTimes {
  /** Start until every file has its thumbnail (the watcher: its row written, its event published). */
  browsableMs: number;
  /** Start until every preview is made too. */
  doneMs: number;
}

interface Round {
  watcher: RunTimes;
  sharp: RunTimes;
}

/**
 * The round whose watcher-to-baseline time ratio for `phase` is the median one (for an even count,
 * the worse of the middle two). Rounds are compared as pairs because the two contenders of a round
 * share its conditions (other load on the machine drifts between rounds, not within one pair).
 */
function medianRound(rounds: readonly Round[], phase: keyof RunTimes): Round {
  const sorted = [...rounds].sort(
    (a, b) => a.watcher[phase] / a.sharp[phase] - b.watcher[phase] / b.sharp[phase],
  );
  return sorted[Math.floor(sorted.length / 2)]!;
}

function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Read every file once so both contenders find them in the page cache. */
async function warmPageCache(library: PhotoLibrary): Promise<number> {
  let bytes = 0;
  await forEachConcurrently(library.files, 4, async (file) => {
    const { length } = await readFile(file);
    bytes += length;
  });
  return bytes;
}

/** The baseline: sharp alone, thumbnails of every file first, then previews, `CORES` at a time. */
async function runBareSharp(library: PhotoLibrary): Promise<RunTimes> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'lumen-bench-sharp-'));
  try {
    sharp.concurrency(CORES);
    const started = performance.now();
    await forEachConcurrently(library.files, CORES, async (file, i) => {
      await sharp(file, OPEN)
        .rotate()
        .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'cover', position: 'centre' })
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: 80 })
        .toFile(path.join(out, `${i}-thumb.jpg`));
    });
    const browsableMs = performance.now() - started;
    await forEachConcurrently(library.files, CORES, async (file, i) => {
      await sharp(file, OPEN)
        .rotate()
        .resize(PREVIEW_SIZE, PREVIEW_SIZE, { fit: 'inside', withoutEnlargement: true })
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: 82 })
        .toFile(path.join(out, `${i}-preview.jpg`));
    });
    return { browsableMs, doneMs: performance.now() - started };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/**
 * The real watcher on a fresh SQLite database, in-process bus and thumbnails folder: its first tick
 * is a full scan of the library. Browsable when the last `media.ingested` event arrives (published
 * once a file's row, thumbnail included, is written); done when the pipeline is idle (previews).
 */
async function runWatcher(library: PhotoLibrary): Promise<RunTimes> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'lumen-bench-ingest-'));
  const total = library.files.length;
  try {
    const config = parseConfig(
      {
        DATA_DIR: path.join(base, 'data'),
        LIBRARIES: `bench=${library.root}`,
        // One full scan: the next tick is a day away.
        WATCH_QUICK_INTERVAL_SECONDS: '86400',
        WATCH_FULL_INTERVAL_SECONDS: '86400',
        THUMB_SIZE: String(THUMB_SIZE),
        PREVIEW_SIZE: String(PREVIEW_SIZE),
        LOG_LEVEL: 'warn',
      },
      base,
    );
    const database = await openDatabase(config.database);
    const bus = createMemoryBus({ logger: quietBusLogger });
    let ingested = 0;
    let browsableAt = 0;
    let allIngested: () => void = () => {};
    const browsable = new Promise<void>((resolve) => {
      allIngested = resolve;
    });
    await bus.subscribe('media.ingested', () => {
      if (++ingested === total) {
        browsableAt = performance.now();
        allIngested();
      }
    });
    const started = performance.now();
    const watcher = await start({ config, database, bus, logger: createBenchLogger('watcher') });
    let failScan: (err: Error) => void = () => {};
    const scanFailed = new Promise<never>((_, reject) => {
      failScan = reject;
    });
    // The scan ends once every row is written and announced: fewer events then means failed files.
    const scanChecker = setInterval(() => {
      const scan = watcher.lastScans().find((s) => s.kind === 'full');
      if (scan && ingested < total) {
        clearInterval(scanChecker);
        failScan(
          new Error(`the scan ended with ${ingested} of ${total} files ingested: ${JSON.stringify(scan)}`),
        );
      }
    }, 100);
    try {
      await deadline(Promise.race([browsable, scanFailed]), RUN_TIMEOUT_MS, 'the watcher thumbnails');
      clearInterval(scanChecker);
      await deadline(watcher.whenIdle(), RUN_TIMEOUT_MS, 'the watcher previews');
      const doneMs = performance.now() - started;
      const statuses = await database.db
        .selectFrom('image_exif')
        .select(['thumb_status', 'preview_status', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy(['thumb_status', 'preview_status'])
        .execute();
      const ready = statuses.find((s) => s.thumb_status === 'ready' && s.preview_status === 'ready');
      if (Number(ready?.n ?? 0) !== total) {
        throw new Error(`expected ${total} rows with thumbnail and preview, got ${JSON.stringify(statuses)}`);
      }
      return { browsableMs: browsableAt - started, doneMs };
    } finally {
      clearInterval(scanChecker);
      await watcher.stop();
      await bus.close();
      await database.close();
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const library = await photoLibrary(FILES, ctx.log);
  const bytes = await warmPageCache(library);
  ctx.log(
    `${FILES} files, ${(bytes / FILES / 2 ** 20).toFixed(2)} MB each on average; concurrency ${CORES}; ` +
      `${ROUNDS} round(s)`,
  );
  const rounds: Round[] = [];
  const describe = (t: RunTimes) =>
    `browsable ${(t.browsableMs / 1000).toFixed(1)} s (${((FILES * 1000) / t.browsableMs).toFixed(1)} files/s), ` +
    `done ${(t.doneMs / 1000).toFixed(1)} s (${((FILES * 1000) / t.doneMs).toFixed(1)} files/s)`;
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate which goes first, so neither always gets the cooler (or warmer) machine.
    const order = round % 2 === 1 ? (['sharp', 'watcher'] as const) : (['watcher', 'sharp'] as const);
    const times: Partial<Round> = {};
    for (const who of order) {
      times[who] = who === 'sharp' ? await runBareSharp(library) : await runWatcher(library);
      ctx.log(`round ${round} ${who}: ${describe(times[who])}`);
    }
    const { watcher, sharp } = times as Round;
    rounds.push({ watcher, sharp });
    ctx.log(
      `round ${round} speed ratios: browsable ${(sharp.browsableMs / watcher.browsableMs).toFixed(3)}, ` +
        `done ${(sharp.doneMs / watcher.doneMs).toFixed(3)}`,
    );
  }

  const perSecond = (ms: number) => (FILES * 1000) / ms;
  const baseline = `bare sharp, same ${THUMB_SIZE}px thumbnails (and ${PREVIEW_SIZE}px previews), ${CORES} at a time`;
  const name = 'watcher first full scan';
  const atBrowsable = medianRound(rounds, 'browsableMs');
  const atDone = medianRound(rounds, 'doneMs');
  const browsable = { lumen: atBrowsable.watcher.browsableMs, bare: atBrowsable.sharp.browsableMs };
  const done = { lumen: atDone.watcher.doneMs, bare: atDone.sharp.doneMs };
  return [
    row({
      name,
      metric: `browsable: every file has its thumbnail, ${FILES} x 12 MP JPEG`,
      value: perSecond(browsable.lumen),
      unit: 'files/s',
      baseline,
      baselineValue: perSecond(browsable.bare),
      note: 'higher is better; target >= 0.8',
    }),
    row({
      name,
      metric: `done: thumbnails and previews, ${FILES} x 12 MP JPEG`,
      value: perSecond(done.lumen),
      unit: 'files/s',
      baseline,
      baselineValue: perSecond(done.bare),
      note: 'higher is better; target >= 0.8',
    }),
    row({
      name,
      metric: 'time until browsable',
      value: browsable.lumen / 1000,
      unit: 's',
      baseline,
      baselineValue: browsable.bare / 1000,
      note: 'lower is better; target <= 1.25',
    }),
    row({
      name,
      metric: 'time until done',
      value: done.lumen / 1000,
      unit: 's',
      baseline,
      baselineValue: done.bare / 1000,
      note: 'lower is better; target <= 1.25',
    }),
  ];
}

const benchmark: Benchmark = {
  title: 'First-scan ingest',
  description:
    `The watcher (fresh SQLite database, in-process bus, fresh thumbnails folder) starts on a generated ` +
    `library of ${FILES} 4000x3000 JPEGs (about 4.3 MB each, EXIF make/model/date/GPS, 100 per folder) and ` +
    `does its first full scan: walk, EXIF, xxh3 content hash, rows, media.ingested events, 200x200 ` +
    `thumbnails first, then 1440 px previews, ingest concurrency = cores (${CORES}), sharp.concurrency = cores. ` +
    `Browsable: the last media.ingested event (every row and thumbnail written); done: the pipeline idle ` +
    `(every preview made). Baseline in the same run: bare sharp making the same thumbnails, then the same ` +
    `previews, of the same files, ${CORES} at a time, with sharp.concurrency = cores. Files read once ` +
    `beforehand (page cache); ${ROUNDS} rounds alternating which goes first; each row shows the round ` +
    `with the median watcher/baseline ratio (the two of a round share the machine's load, which drifts ` +
    `between rounds). Ratio = watcher speed / baseline speed (time rows: the inverse).`,
  run,
};

export default benchmark;
