import { decodeBudget } from '@lumen/media';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ImageMetrics {
  /** Successful image responses (200 and 206; not 304), by size asked for and the file's media type. */
  served: Counter<'size' | 'media_type'>;
  /** Thumbnails and previews made on demand by the api, by target and outcome. */
  rendered: Counter<'target' | 'result'>;
}

/** The image counters, on the app's registry (the one `/metrics` serves). */
export function createImageMetrics(registry: Registry): ImageMetrics {
  // The process's decode memory budget (shared with the watcher in the standalone process).
  new Gauge({
    name: 'lumen_decode_budget_bytes',
    help: 'Decode memory budget of this process (DECODE_MEMORY_BUDGET_MB): capacity, and bytes reserved by decodes in flight',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      this.set({ kind: 'capacity' }, decodeBudget.capacity);
      this.set({ kind: 'in_use' }, decodeBudget.inUse);
    },
  });
  new Gauge({
    name: 'lumen_decode_budget_waiting',
    help: 'Image decodes waiting for room in the decode memory budget',
    registers: [registry],
    collect() {
      this.set(decodeBudget.waiting);
    },
  });
  return {
    served: new Counter({
      name: 'lumen_images_served_total',
      help: 'Images and videos served by GET /image (200/206), by size (thumb, preview, full) and media type (photo, raw, video)',
      labelNames: ['size', 'media_type'] as const,
      registers: [registry],
    }),
    rendered: new Counter({
      name: 'lumen_api_derivatives_rendered_total',
      help: 'Thumbnails and previews the api made on demand (not made by the watcher yet), by target and result',
      labelNames: ['target', 'result'] as const,
      registers: [registry],
    }),
  };
}
