import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of the transcoder (served on METRICS_BIND_URL when it runs alone). */
export interface TranscoderMetrics {
  registry: Registry;
  /** Job deliveries handled. Labels: kind (hls|preview), outcome (done|failed). */
  jobs: Counter<'kind' | 'outcome'>;
  /** Wall time of one job delivery. Labels: kind. */
  jobSeconds: Histogram<'kind'>;
}

export function createTranscoderMetrics(running: () => number, registry = new Registry()): TranscoderMetrics {
  const registers = [registry];
  new Gauge({
    name: 'lumen_transcoder_jobs_running',
    help: 'Distinct outputs being made right now',
    registers,
    collect() {
      this.set(running());
    },
  });
  return {
    registry,
    jobs: new Counter({
      name: 'lumen_transcoder_jobs_total',
      help: 'Job deliveries handled, by kind and outcome (a failed one is retried or dead-lettered)',
      labelNames: ['kind', 'outcome'],
      registers,
    }),
    jobSeconds: new Histogram({
      name: 'lumen_transcoder_job_seconds',
      help: 'Wall time of one job delivery, by kind',
      labelNames: ['kind'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
  };
}
