/**
 * Job round trip (enqueue -> consume -> ack) through the JetStream bus and the
 * in-process bus, against a bare NATS core request/reply on the same server.
 */
import { randomBytes } from 'node:crypto';
import { type Bus, createMemoryBus, createNatsBus, deleteBusPrefix } from '@lumen/bus';
import { withTimeout } from '@lumen/core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type BenchContext, type Benchmark, type BenchRow, row } from '../benchmark.ts';
import { median, percentile } from '../stats.ts';

const ROUNDS = 5;
const WARMUP = 50;
/** Round trips one at a time, for latency. */
const SEQUENTIAL = 1_000;
/** Jobs pushed through with many in flight, for throughput. */
const PIPELINED = 5_000;
/** Enqueues (or requests) outstanding at once in the pipelined runs. */
const WINDOW = 64;
/** Consumer concurrency in the pipelined runs. */
const CONCURRENCY = 16;
const TIMEOUT_MS = 10_000;

const PAYLOAD = { path: 'library/2024/05/IMG_0001.MOV', libraryId: 1, hash: 'a'.repeat(32) };

interface Sample {
  latenciesMs: number[];
  perSecond: number;
}

/** What one transport needs to provide: a sequential round trip and a pipelined batch. */
interface Transport {
  /** Sets up what `count` round trips need (subjects, consumers) and returns the runner. */
  prepare(label: string): Promise<{ one(): Promise<void>; many(count: number): Promise<void> }>;
}

async function sequentialLatencies(one: () => Promise<void>, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await one();
    latencies.push(performance.now() - t0);
  }
  return latencies;
}

async function measure(transport: Transport, label: string): Promise<Sample> {
  const runner = await transport.prepare(label);
  await sequentialLatencies(runner.one, WARMUP);
  const latenciesMs = await sequentialLatencies(runner.one, SEQUENTIAL);
  const t0 = performance.now();
  await runner.many(PIPELINED);
  const perSecond = PIPELINED / ((performance.now() - t0) / 1000);
  return { latenciesMs, perSecond };
}

/** Runs `worker` on `WINDOW` parallel lanes until `count` items are done. */
async function inWindow(count: number, worker: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await worker(next++);
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, count) }, lane));
}

/** enqueue -> handler -> ack on a Bus; a round trip ends when the ack is done. */
function busTransport(bus: Bus): Transport {
  return {
    async prepare(label) {
      const seqSubject = `bench.${label}-seq`;
      const manySubject = `bench.${label}-many`;
      let acked: (() => void) | undefined;
      await bus.consume(
        seqSubject,
        async (job) => {
          await job.ack();
          acked?.();
        },
        { concurrency: 1, ackWaitMs: TIMEOUT_MS },
      );
      let done = 0;
      let allDone: (() => void) | undefined;
      let target = 0;
      await bus.consume(
        manySubject,
        async (job) => {
          await job.ack();
          if (++done === target) allDone?.();
        },
        { concurrency: CONCURRENCY, ackWaitMs: TIMEOUT_MS },
      );
      return {
        async one() {
          const ack = new Promise<void>((resolve) => {
            acked = resolve;
          });
          await bus.enqueue(seqSubject, PAYLOAD);
          await withTimeout(ack, TIMEOUT_MS, 'a job round trip');
        },
        async many(count) {
          done = 0;
          target = count;
          const finished = new Promise<void>((resolve) => {
            allDone = resolve;
          });
          await inWindow(count, (i) => bus.enqueue(manySubject, { ...PAYLOAD, i }));
          await withTimeout(finished, TIMEOUT_MS, `${count} jobs`);
        },
      };
    },
  };
}

/** The floor: one core NATS request and its reply, no persistence, no acks. */
function requestReplyTransport(nc: NatsConnection): Transport {
  return {
    async prepare(label) {
      const subject = `bench_rr_${randomBytes(4).toString('hex')}.${label}`;
      nc.subscribe(subject, { callback: (_err, msg) => void msg.respond(msg.data) });
      await nc.flush();
      const payload = JSON.stringify(PAYLOAD);
      const one = async () => {
        const reply = await nc.request(subject, payload, { timeout: TIMEOUT_MS });
        JSON.parse(reply.string());
      };
      return {
        one,
        many: (count) => inWindow(count, one),
      };
    },
  };
}

function summarize(samples: Sample[]) {
  return {
    p50: median(samples.map((s) => percentile(s.latenciesMs, 50))),
    p99: median(samples.map((s) => percentile(s.latenciesMs, 99))),
    perSecond: median(samples.map((s) => s.perSecond)),
  };
}

async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const prefix = `bench_${randomBytes(4).toString('hex')}`;
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const nc = await connect({ servers: ctx.natsUrl, timeout: 5_000, name: 'bench-request-reply' });
  const natsBus = await createNatsBus({ servers: ctx.natsUrl, prefix, logger: quiet });
  const memoryBus = createMemoryBus({ logger: quiet });
  const transports: [string, Transport][] = [
    ['baseline', requestReplyTransport(nc)],
    ['jetstream', busTransport(natsBus)],
    ['memory', busTransport(memoryBus)],
  ];
  const samples = new Map<string, Sample[]>(transports.map(([name]) => [name, []]));
  try {
    // Rounds interleave the transports so a noisy moment hits all of them alike.
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, transport] of transports) {
        const sample = await measure(transport, `r${round}`);
        samples.get(name)?.push(sample);
        ctx.log(
          `round ${round} ${name}: p50 ${percentile(sample.latenciesMs, 50).toFixed(3)} ms, ` +
            `p99 ${percentile(sample.latenciesMs, 99).toFixed(3)} ms, ${Math.round(sample.perSecond)}/s`,
        );
      }
    }
  } finally {
    await Promise.allSettled([natsBus.close(), memoryBus.close(), nc.drain()]);
    await deleteBusPrefix(ctx.natsUrl, prefix);
  }

  const base = summarize(samples.get('baseline') ?? []);
  const baseline = 'NATS core request/reply';
  const rows: BenchRow[] = [];
  for (const [name, label] of [
    ['jetstream', 'JetStream bus'],
    ['memory', 'in-process bus'],
  ] as const) {
    const s = summarize(samples.get(name) ?? []);
    rows.push(
      row({
        name: label,
        metric: 'p50 latency, one job in flight',
        value: s.p50,
        unit: 'ms',
        baseline,
        baselineValue: base.p50,
        note: 'lower is better',
      }),
      row({
        name: label,
        metric: 'p99 latency, one job in flight',
        value: s.p99,
        unit: 'ms',
        baseline,
        baselineValue: base.p99,
        note: 'lower is better',
      }),
      row({
        name: label,
        metric: `throughput, ${WINDOW} enqueues in flight, concurrency ${CONCURRENCY}`,
        value: s.perSecond,
        unit: 'jobs/s',
        baseline,
        baselineValue: base.perSecond,
        note: `higher is better; baseline keeps ${WINDOW} requests in flight`,
      }),
    );
  }
  return rows;
}

const benchmark: Benchmark = {
  title: 'Job round trip',
  description:
    `A job is enqueued, handed to a consumer and acked; a round trip ends when the ack is confirmed. ` +
    `Latency: ${SEQUENTIAL} round trips one at a time (after ${WARMUP} warm-up ones); throughput: ` +
    `${PIPELINED} jobs with ${WINDOW} enqueues in flight and a consumer of concurrency ${CONCURRENCY}. ` +
    `Baseline: the same pattern as core NATS request/reply on the same server (no persistence, no ack). ` +
    `${ROUNDS} interleaved rounds, median of the per-round values. Client and server share the machine.`,
  run,
};

export default benchmark;
