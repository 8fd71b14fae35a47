/** What a benchmark module (`benchmarks/<name>.bench.ts`) exports as default. */

/**
 * One measurement next to its baseline from the same run. `ratio` is always
 * `value / baselineValue`; `note` says which direction is better.
 */
export interface BenchRow {
  name: string;
  metric: string;
  value: number;
  unit: string;
  baseline: string;
  baselineValue: number;
  ratio: number;
  note: string;
}

export interface BenchContext {
  /** NATS server for benchmarks that need one (`NATS_URL`, default the local server). */
  natsUrl: string;
  log(message: string): void;
}

export interface Benchmark {
  title: string;
  /** Method in a sentence or two: what is measured, against which baseline, how much work. */
  description: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

/** Builds a row; `ratio` is computed so no benchmark gets it backwards. */
export function row(fields: Omit<BenchRow, 'ratio'>): BenchRow {
  return { ...fields, ratio: fields.baselineValue === 0 ? Number.NaN : fields.value / fields.baselineValue };
}

/** A positive integer from environment variable `name` (a benchmark knob), or `fallback`. */
export function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}
