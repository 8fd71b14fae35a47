import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of the watcher; registered on the registry it is given. */
export interface WatcherMetrics {
  registry: Registry;
  /** Files listed by scans. Labels: library, kind (quick|full). */
  filesSeen: Counter<'library' | 'kind'>;
  /** Files ingested. Labels: library, result (new|changed|failed|unsupported). */
  filesIngested: Counter<'library' | 'result'>;
  /** Previews made. Labels: result (ready|unsupported|failed). */
  previews: Counter<'result'>;
  /** Previews that did not fit in the preview queue (made later, from the database backlog). */
  previewsDeferred: Counter<string>;
  /** Wall time of the last scan including its ingest. Labels: library, kind. */
  scanSeconds: Gauge<'library' | 'kind'>;
  /** Files scans left alone because the api could not serve their paths. Labels: library, reason (a path.* code). */
  namesSkipped: Counter<'library' | 'reason'>;
  /** Upload temporary files older than an hour that scans removed. Labels: library. */
  uploadLeftoversRemoved: Counter<'library'>;
  /** Files per second of the last scan. Labels: library, kind. */
  scanFilesPerSecond: Gauge<'library' | 'kind'>;
  /** Time to ingest one file (thumbnail lane). */
  ingestFileSeconds: Histogram<string>;
  /** 1 when the library is Online, 0 when Stale. Labels: library. */
  libraryOnline: Gauge<'library'>;
  /** Work waiting and running. Labels: lane (thumbnail|preview|running); read from `setQueueSource`. */
  ingestQueue: Gauge<'lane'>;
  /** Where `ingestQueue` reads its values at scrape time. */
  setQueueSource(source: () => QueueSizes): void;
}

export interface QueueSizes {
  thumbnailQueue: number;
  previewQueue: number;
  running: number;
}

export function createWatcherMetrics(registry: Registry = new Registry()): WatcherMetrics {
  const registers = [registry];
  let queueSource: (() => QueueSizes) | undefined;
  return {
    setQueueSource(source) {
      queueSource = source;
    },
    registry,
    filesSeen: new Counter({
      name: 'lumen_watcher_files_seen_total',
      help: 'Files listed by library scans',
      labelNames: ['library', 'kind'],
      registers,
    }),
    filesIngested: new Counter({
      name: 'lumen_watcher_files_ingested_total',
      help: 'Files ingested, by result',
      labelNames: ['library', 'result'],
      registers,
    }),
    previews: new Counter({
      name: 'lumen_watcher_previews_total',
      help: 'Previews made, by result',
      labelNames: ['result'],
      registers,
    }),
    previewsDeferred: new Counter({
      name: 'lumen_watcher_previews_deferred_total',
      help: 'Previews that did not fit in the preview queue; queued later from the database backlog',
      registers,
    }),
    namesSkipped: new Counter({
      name: 'lumen_watcher_names_skipped_total',
      help: 'Files scans skipped because the api could not serve their path, by reason',
      labelNames: ['library', 'reason'],
      registers,
    }),
    uploadLeftoversRemoved: new Counter({
      name: 'lumen_watcher_upload_leftovers_removed_total',
      help: 'Upload temporary files (.upload-*.part) older than an hour removed by scans',
      labelNames: ['library'],
      registers,
    }),
    scanSeconds: new Gauge({
      name: 'lumen_watcher_last_scan_seconds',
      help: 'Duration of the last scan of a library, ingest included',
      labelNames: ['library', 'kind'],
      registers,
    }),
    scanFilesPerSecond: new Gauge({
      name: 'lumen_watcher_last_scan_files_per_second',
      help: 'Files listed per second by the last scan of a library',
      labelNames: ['library', 'kind'],
      registers,
    }),
    ingestFileSeconds: new Histogram({
      name: 'lumen_watcher_ingest_file_seconds',
      help: 'Time to ingest one file: type, hash, metadata, thumbnail',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers,
    }),
    libraryOnline: new Gauge({
      name: 'lumen_watcher_library_online',
      help: '1 when the library is Online, 0 when Stale',
      labelNames: ['library'],
      registers,
    }),
    ingestQueue: new Gauge({
      name: 'lumen_watcher_ingest_queue',
      help: 'Ingest work waiting (thumbnail, preview lanes) and running',
      labelNames: ['lane'],
      registers,
      collect() {
        const sizes = queueSource?.();
        if (!sizes) return;
        this.set({ lane: 'thumbnail' }, sizes.thumbnailQueue);
        this.set({ lane: 'preview' }, sizes.previewQueue);
        this.set({ lane: 'running' }, sizes.running);
      },
    }),
  };
}
