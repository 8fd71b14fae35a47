/**
 * The job outbox (JobOutbox over a real SQLite `job_outbox`) against a model, over random
 * sequences of: writes whose jobs are sent at once or left behind (a watcher that died after the
 * commit), drains (alone or racing the send of a write), restarts (in-memory state lost), and
 * faults (enqueues that fail, deletes that fail after a successful enqueue: a death between the
 * two). After every step no job is lost: each is still in the outbox or was enqueued. At the end,
 * with the faults gone, one drain empties the outbox and a second one enqueues nothing
 * (idempotent). Without faults every job is enqueued exactly once, races included.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bus } from '@lumen/bus';
import { type Database, JobOutboxRepository, type JobOutboxRow, openDatabase } from '@lumen/db';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JobOutbox } from '../src/ingest/job-outbox.ts';

type Op =
  | { kind: 'write'; jobs: number; sendNow: boolean }
  | { kind: 'writeRacingDrain'; jobs: number }
  | { kind: 'drain' }
  | { kind: 'restart' }
  | { kind: 'faults'; failEnqueueEvery: number; failDelete: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('write' as const),
    jobs: fc.integer({ min: 1, max: 5 }),
    sendNow: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('writeRacingDrain' as const), jobs: fc.integer({ min: 1, max: 5 }) }),
  fc.constant({ kind: 'drain' as const }),
  fc.constant({ kind: 'restart' as const }),
  fc.record({
    kind: fc.constant('faults' as const),
    // 0: no enqueue fails; k: the jobs whose number is a multiple of k fail
    failEnqueueEvery: fc.constantFrom(0, 0, 1, 2, 3),
    failDelete: fc.boolean(),
  }),
);

const silent = pino({ level: 'silent' });
let base: string;
let database: Database;

beforeAll(async () => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-outbox-model-'));
  database = await openDatabase({ kind: 'sqlite', file: path.join(base, 'lumen.db') });
});

afterAll(async () => {
  await database?.close();
  fs.rmSync(base, { recursive: true, force: true });
});

it('no job is lost, a drain is idempotent, and without faults each job is enqueued once', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
      await database.db.deleteFrom('job_outbox').execute();
      const real = new JobOutboxRepository(database.db);
      let failEnqueueEvery = 0;
      let failDelete = false;
      let faulted = false;
      /** Successful enqueues per dedup id. */
      const enqueued = new Map<string, number>();
      const written: string[] = [];
      const bus = {
        async enqueue(_subject: string, data: unknown, opts?: { dedupId?: string }) {
          const n = (data as { n: number }).n;
          await Promise.resolve();
          if (failEnqueueEvery > 0 && n % failEnqueueEvery === 0) {
            faulted = true;
            throw new Error('injected enqueue failure');
          }
          enqueued.set(opts!.dedupId!, (enqueued.get(opts!.dedupId!) ?? 0) + 1);
        },
      } as unknown as Bus;
      const repository = Object.assign(Object.create(real) as JobOutboxRepository, {
        delete: async (ids: readonly number[]) => {
          if (failDelete && ids.length > 0) {
            faulted = true;
            throw new Error('injected: died between the enqueue and the delete');
          }
          return real.delete(ids);
        },
      });
      const newOutbox = () => new JobOutbox({ repository, bus, logger: silent, pageSize: 3 });
      let outbox = newOutbox();
      const write = async (count: number): Promise<JobOutboxRow[]> => {
        const jobs = Array.from({ length: count }, () => {
          const n = written.length + 1;
          written.push(`job:${n}`);
          return { subject: 'video.ingested', dedupId: `job:${n}`, payload: { n } };
        });
        return real.add(jobs);
      };
      const checkNothingLost = async () => {
        const left = new Set((await real.page(0, 10_000)).map((row) => row.dedup_id));
        for (const id of written) {
          expect(left.has(id) || (enqueued.get(id) ?? 0) > 0, `${id} lost`).toBe(true);
        }
      };

      for (const op of ops) {
        if (op.kind === 'write') {
          const rows = await write(op.jobs);
          if (op.sendNow) await outbox.send(rows);
        } else if (op.kind === 'writeRacingDrain') {
          const rows = await write(op.jobs);
          await Promise.all([outbox.send(rows), outbox.drain()]);
        } else if (op.kind === 'drain') {
          await outbox.drain();
        } else if (op.kind === 'restart') {
          outbox = newOutbox();
        } else {
          failEnqueueEvery = op.failEnqueueEvery;
          failDelete = op.failDelete;
        }
        await checkNothingLost();
      }

      failEnqueueEvery = 0;
      failDelete = false;
      const before = written.length - (await real.count());
      const first = await outbox.drain();
      expect(await real.count()).toBe(0);
      expect(first.sent).toBe(written.length - before);
      for (const id of written) expect(enqueued.get(id) ?? 0, id).toBeGreaterThan(0);
      const calls = [...enqueued.values()].reduce((sum, n) => sum + n, 0);
      expect(await outbox.drain()).toEqual({ sent: 0, failed: 0 });
      expect([...enqueued.values()].reduce((sum, n) => sum + n, 0)).toBe(calls);
      if (!faulted) for (const id of written) expect(enqueued.get(id), id).toBe(1);
    }),
    { numRuns: 60 },
  );
});
