import os from 'node:os';
import { type Bus, Lease } from '@lumen/bus';
import {
  type Config,
  chooseScanKind,
  LEASES_BUCKET,
  quickScanCutoffMs,
  WATCHER_LEASE_KEY,
} from '@lumen/core';
import {
  type Database,
  FaceCodeIndex,
  FacesRepository,
  ImageExifRepository,
  JobOutboxRepository,
  LibrariesRepository,
  MissingFilesRepository,
  PersonsRepository,
} from '@lumen/db';
import { FaceDetector, faceClientFromConfig } from '@lumen/faces';
import { configureDecodeBudget, configureSharp, ExiftoolProcess } from '@lumen/media';
import { defaultReplicaId, type Logger } from '@lumen/runtime';
import type { Registry } from 'prom-client';
import { FacePass } from './faces/face-pass.ts';
import { IngestPipeline } from './ingest/ingest-pipeline.ts';
import { subscribeIngestRequests } from './ingest/ingest-request.subscriber.ts';
import { JobOutbox } from './ingest/job-outbox.ts';
import { ensureLibraryMarker, shouldWriteMarker } from './library/library-marker.ts';
import { LIBRARY_MARKER_FILE, type LibraryStatus } from './library/library-probe.ts';
import { refreshLibraryStatus } from './library/library-status.ts';
import { createMaintenanceMetrics } from './maintenance/maintenance-metrics.ts';
import { createMaintenancePass } from './maintenance/maintenance-pass.ts';
import type { MissingScanFs } from './maintenance/missing-file-scan.ts';
import type { MaintenancePass, TickContext, TickPhase } from './maintenance-hook.ts';
import { type LibraryRef, scanLibrary } from './scan/library-scan.ts';
import type { ScanSummary } from './scan/scan-progress.ts';
import { TickLoop } from './tick-loop.ts';
import { createWatcherMetrics } from './watcher-metrics.ts';

export interface WatcherDeps {
  config: Config;
  database: Database;
  bus: Bus;
  logger: Logger;
  /** Where the watcher's metrics go (e.g. the API's registry in standalone); a new one by default. */
  registry?: Registry;
  /**
   * Run after ingest on every tick, in order (SPEC 3). By default the whole maintenance pipeline
   * (missing-file scan, back-ref refresh, orphan GC) as one pass, with its metrics on `registry`;
   * give `[]` to run none.
   */
  maintenance?: MaintenancePass[];
  /**
   * Previews kept waiting in memory at most (default 10 000); the rest stay pending in the
   * database and are queued as the queue drains, a top-up per tick.
   */
  previewQueueLimit?: number;
  /**
   * The clock of `missing_since` and the grace period, and of the age of upload leftovers (default
   * Date.now). Tests move it past MISSING_GRACE_SECONDS instead of waiting a week.
   */
  now?: () => number;
  /**
   * Called at each phase of a tick (TickPhase), awaited: tests change the world between two
   * phases, or hold a tick at one. Not for production use.
   */
  onPhase?: (phase: TickPhase) => Promise<void> | void;
  /** File-system layer of the missing-file scan (tests inject EIO and the like). */
  missingScanFs?: MissingScanFs;
  /** `false`: no face stage even when a face service is configured. */
  faces?: false;
}

export interface WatcherHandle {
  /** Stop ticking, let running work finish (bounded), write what is done, close exiftool. */
  stop(): Promise<void>;
  /** Run a tick now (after the one in progress) and resolve when it is done. */
  tickNow(): Promise<void>;
  /** Resolves when no ingest work is queued or running, previews included. */
  whenIdle(): Promise<void>;
  /** The registry holding the watcher's metrics. */
  registry: Registry;
  /** This replica's name in the watcher lease (REPLICA_ID). */
  replicaId: string;
  /** True while this replica holds the watcher lease (false: standing by). */
  active(): boolean;
  /** Summaries of the scans of the last tick. */
  lastScans(): ScanSummary[];
  /** The face stage, when faces are on. */
  faces: FacePass | undefined;
}

/** How long a library probe may take before the library counts as Stale (hung mount). */
const PROBE_TIMEOUT_MS = 10_000;
/** Quick scans look at directories modified up to this long before the last scan started. */
const QUICK_SCAN_SLACK_MS = 10_000;
/** stop() gives the tick and the running files this long (runService allows 4.5 s in all). */
const STOP_GRACE_MS = 2_000;
/** Each step of a file (hash, metadata, one decode) gets at most this long. */
const MAX_STEP_TIMEOUT_MS = 30_000;

/** Start the watcher: library probes, scans, ingest and the maintenance pipeline. */
export async function start(deps: WatcherDeps): Promise<WatcherHandle> {
  const { config, bus } = deps;
  const env = config.env;
  const logger = deps.logger.child({ component: 'watcher' });
  const metrics = createWatcherMetrics(deps.registry);
  const libraries = new LibrariesRepository(deps.database.db);
  const imageExif = new ImageExifRepository(deps.database.db);
  const missingFiles = new MissingFilesRepository(deps.database.db);
  const onPhase = deps.onPhase ?? (() => {});
  const maintenance = deps.maintenance ?? [
    createMaintenancePass({
      db: deps.database.db,
      config: env,
      logger: deps.logger,
      metrics: createMaintenanceMetrics(metrics.registry),
      ...(env.REQUIRE_LIBRARY_MARKER ? { markerFile: LIBRARY_MARKER_FILE } : {}),
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.onPhase ? { onPhase: deps.onPhase } : {}),
      ...(deps.missingScanFs ? { fs: deps.missingScanFs } : {}),
    }),
  ];

  const cores = os.availableParallelism();
  const concurrency = env.INGEST_CONCURRENCY ?? cores;
  // No libvips operation cache, and every decode inside the process's decode memory budget
  // (shared with the api in the standalone process): see docs/operations.md, "Memory".
  configureSharp({ concurrency: cores, cache: false });
  configureDecodeBudget({ memoryBytes: env.DECODE_MEMORY_BUDGET_MB * 1024 * 1024 });
  const exiftool = new ExiftoolProcess();
  const fileTimeoutMs = env.INGEST_FILE_TIMEOUT_SECONDS * 1000;
  const outbox = new JobOutbox({ repository: new JobOutboxRepository(deps.database.db), bus, logger });
  const pipeline = new IngestPipeline({
    imageExif,
    bus,
    outbox,
    logger,
    metrics,
    concurrency,
    fileTimeoutMs,
    stepTimeoutMs: Math.min(MAX_STEP_TIMEOUT_MS, fileTimeoutMs),
    thumbnailsDir: config.thumbnailsDir,
    thumbSize: env.THUMB_SIZE,
    previewSize: env.PREVIEW_SIZE,
    exiftool,
    ...(deps.previewQueueLimit === undefined ? {} : { maxPreviewQueue: deps.previewQueueLimit }),
  });
  metrics.setQueueSource(() => pipeline.stats());

  // Replicas: one holds the lease and watches everything; the others stand by (docs/operations.md).
  const replicaId = env.REPLICA_ID ?? defaultReplicaId();
  const lease = new Lease({
    store: await bus.keyValue(LEASES_BUCKET),
    key: WATCHER_LEASE_KEY,
    holder: replicaId,
    ttlMs: env.WATCHER_LEASE_SECONDS * 1000,
    logger, // real time, not the test clock: leases are between processes
  });
  lease.keepRenewed();

  const faceClient = deps.faces === false ? undefined : faceClientFromConfig(config, logger);
  const facesRepository = new FacesRepository(deps.database.db, deps.database.kind);
  const facePass = faceClient
    ? new FacePass({
        client: faceClient,
        detector: new FaceDetector({
          client: faceClient,
          faces: facesRepository,
          persons: new PersonsRepository(deps.database.db),
          thumbnailsDir: config.thumbnailsDir,
          previewSize: env.PREVIEW_SIZE,
          autobindMinCos: env.FACE_AUTOBIND_MIN_COS,
          logger,
          exiftool,
        }),
        faces: facesRepository,
        bus,
        logger,
        concurrency: env.FACE_DETECT_CONCURRENCY,
        backlogPerTick: env.FACE_BACKLOG_MAX_PER_TICK,
        excludedDirs: config.excludedDirs,
        active: () => lease.held(),
        searchIndex: new FaceCodeIndex(deps.database.db),
      })
    : undefined;
  await facePass?.start();

  if (config.libraries.length > 0) await libraries.upsertConfigured(config.libraries);
  const ingestRequests = await subscribeIngestRequests({
    bus,
    pipeline,
    libraries,
    imageExif,
    logger,
  });

  /** Libraries Online on the previous tick: the others get a full scan when they are next Online. */
  const onlineLastTick = new Set<number>();
  let lastScans: ScanSummary[] = [];

  let standingBy = false;
  const tick = async (signal: AbortSignal) => {
    if (!(await lease.acquire())) {
      if (!standingBy) logger.info({ replicaId }, 'another watcher holds the lease: standing by');
      standingBy = true;
      onlineLastTick.clear(); // when this replica takes over, every library gets a full scan first
      return;
    }
    standingBy = false;
    // Jobs a watcher stored with its rows and did not enqueue (it died first, or the bus failed).
    try {
      await outbox.drain(signal);
    } catch (err) {
      logger.error({ err }, 'draining the job outbox failed');
    }
    await onPhase('probe');
    if (signal.aborted) return;
    const probed: TickContext['libraries'] = [];
    for (const library of await libraries.list()) {
      if (signal.aborted) return;
      const result = await refreshLibraryStatus(library, {
        libraries,
        bus,
        logger,
        metrics,
        probeTimeoutMs: PROBE_TIMEOUT_MS,
        requireMarker: env.REQUIRE_LIBRARY_MARKER,
      });
      probed.push({ library, status: result.status });
    }

    await onPhase('scan');
    const scans: ScanSummary[] = [];
    const online: LibraryRef[] = [];
    /** Every Online library's scan ran to the end: only then may this tick feed the orphan GC. */
    let ingestScanned = true;
    for (const { library, status } of probed) {
      if (signal.aborted) return;
      if (status !== 'online') {
        onlineLastTick.delete(library.id);
        continue;
      }
      online.push(library);
      const startedAt = new Date();
      const kind = chooseScanKind({
        nowMs: startedAt.getTime(),
        fullIntervalMs: env.WATCH_FULL_INTERVAL_SECONDS * 1000,
        lastFullScanAt: library.last_full_scan_at,
        lastQuickScanAt: library.last_quick_scan_at,
        firstScanThisRun: !onlineLastTick.has(library.id),
      });
      onlineLastTick.add(library.id);
      try {
        const summary = await scanLibrary({
          library,
          kind,
          changedSinceMs: quickScanCutoffMs(
            library.last_quick_scan_at,
            library.last_full_scan_at,
            QUICK_SCAN_SLACK_MS,
          ),
          imageExif,
          missingFiles,
          sink: pipeline,
          logger,
          metrics,
          signal,
          onDirectory: () => onPhase('scan:directory'),
          ...(deps.now ? { now: deps.now } : {}),
        });
        scans.push(summary);
        if (summary.completed) {
          await libraries.markScanned(library.id, kind, startedAt.toISOString());
          const rowsInDatabase =
            summary.media > 0
              ? 0
              : (await libraries.countFiles(library.id)) + (await missingFiles.count(library.id));
          if (shouldWriteMarker({ mediaSeen: summary.media, rowsInDatabase })) {
            await ensureLibraryMarker(library.root, LIBRARY_MARKER_FILE, logger);
          }
        } else ingestScanned = false;
      } catch (err) {
        if (signal.aborted) return;
        ingestScanned = false;
        // Scanned again from scratch next tick (a full scan, as after a Stale spell).
        onlineLastTick.delete(library.id);
        logger.error({ err, library: library.name, kind }, 'scan failed');
      }
    }
    lastScans = scans;

    // Previews the queue had no room for (a big first scan) are fed in from the database.
    try {
      await pipeline.topUpPreviews(online);
    } catch (err) {
      logger.error({ err }, 'topping up the preview queue failed');
    }

    // Maintenance pipeline (SPEC 3), after ingest: missing-file scan, back-ref refresh, orphan GC.
    if (signal.aborted) return;
    await onPhase('maintenance');
    for (const pass of maintenance) {
      if (signal.aborted) return;
      try {
        await pass.run({ libraries: probed, ingestScanned, signal });
      } catch (err) {
        logger.error({ err, pass: pass.name }, 'maintenance pass failed');
      }
    }

    // Faces (SPEC 6): the backlog of photos not sent yet, after maintenance.
    if (facePass && !signal.aborted) {
      await onPhase('faces');
      try {
        await facePass.run({ signal });
      } catch (err) {
        logger.error({ err }, 'face stage failed');
      }
    }
  };

  const loop = new TickLoop({ intervalMs: env.WATCH_QUICK_INTERVAL_SECONDS * 1000, tick, logger });
  loop.start();
  // A standby looks at the lease every third of its time and takes over as soon as it is free (its
  // holder died or stopped), not at its own next tick, which may be WATCH_QUICK_INTERVAL_SECONDS away.
  const standbyTimer = setInterval(
    () => {
      if (!standingBy) return;
      void lease.acquire().then((got) => {
        if (got) void loop.tickNow();
      });
    },
    Math.max(200, Math.floor((env.WATCHER_LEASE_SECONDS * 1000) / 3)),
  );
  standbyTimer.unref();
  logger.info(
    {
      libraries: config.libraries.map((l) => l.name),
      bus: bus.status().transport,
      concurrency,
      quickIntervalSeconds: env.WATCH_QUICK_INTERVAL_SECONDS,
      fullIntervalSeconds: env.WATCH_FULL_INTERVAL_SECONDS,
    },
    'watcher started',
  );

  let stopping: Promise<void> | undefined;
  return {
    registry: metrics.registry,
    replicaId,
    active: () => lease.held(),
    tickNow: () => loop.tickNow(),
    whenIdle: () => pipeline.whenIdle(),
    lastScans: () => lastScans,
    faces: facePass,
    stop() {
      stopping ??= (async () => {
        const started = Date.now();
        await ingestRequests.stop();
        await facePass?.stop();
        clearInterval(standbyTimer);
        const tickDone = loop.stop(STOP_GRACE_MS);
        await pipeline.stop(STOP_GRACE_MS);
        const finished = await tickDone;
        await lease.release(); // a standby takes over within a third of the lease time

        await exiftool.close().catch(() => {});
        logger.info({ ms: Date.now() - started, tickFinished: finished }, 'watcher stopped');
      })();
      return stopping;
    },
  };
}

export type { LibraryStatus, MaintenancePass, TickContext, TickPhase };
