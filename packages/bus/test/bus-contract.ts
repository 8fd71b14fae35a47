/**
 * The behaviour every Bus transport must show. Each transport's test file calls
 * `defineBusContract` with a way to open buses on it.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Bus,
  type Consumer,
  type DeadLetter,
  type JobMessage,
  NoResponderError,
  RequestError,
  TimeoutError,
} from '../src/index.ts';

export interface BusContractTarget {
  /** Opens a bus; the suite closes it after the test. */
  open(): Promise<Bus>;
  /**
   * Opens another handle on the same queues and subjects as `open()` (NATS: a
   * second connection with the same prefix). Absent when the transport has no
   * such thing (the in-process bus): the suite then uses one bus throughout.
   */
  openPeer?: () => Promise<Bus>;
}

/** Polls `check` until it holds. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(10);
  }
}

/** A fresh subject root so tests sharing one server or prefix never see each other's messages. */
function uniqueSubject(name: string): string {
  return `${name}.${randomBytes(4).toString('hex')}`;
}

/** A promise that never settles: a handler stuck mid-job. */
const hang = () => new Promise<never>(() => {});

export function defineBusContract(name: string, target: BusContractTarget): void {
  describe(`bus contract: ${name}`, () => {
    const opened: Bus[] = [];

    async function open(): Promise<Bus> {
      const bus = await target.open();
      opened.push(bus);
      return bus;
    }

    /** A second handle on the same queues; the same bus when the transport has only one. */
    async function openPeer(bus: Bus): Promise<Bus> {
      if (!target.openPeer) return bus;
      const peer = await target.openPeer();
      opened.push(peer);
      return peer;
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((bus) => bus.close()));
    });

    it('fans events out to every matching subscriber, with * and > wildcards', async () => {
      const publisher = await open();
      const subscriber = await openPeer(publisher);
      const root = uniqueSubject('ev');
      const got: Record<string, string[]> = { star: [], tail: [], exact1: [], exact2: [], mid: [] };
      const record = (key: string) => (data: { id: number }, subject: string) => {
        got[key]?.push(`${data.id}@${subject}`);
      };
      await subscriber.subscribe(`${root}.*`, record('star'));
      await subscriber.subscribe(`${root}.>`, record('tail'));
      await subscriber.subscribe(`${root}.media.ingested`, record('exact1'));
      await subscriber.subscribe(`${root}.media.ingested`, record('exact2'));
      await subscriber.subscribe(`${root}.*.ingested`, record('mid'));

      await publisher.publish(`${root}.media.ingested`, { id: 1 });
      await publisher.publish(`${root}.library`, { id: 2 });
      await publisher.publish(`${root}.a.b.c`, { id: 3 });
      await publisher.publish(`x${root}.media.ingested`, { id: 4 });

      await waitFor(() => got.tail?.length === 3, 'three events on >');
      await delay(150);
      expect(got.star).toEqual([`2@${root}.library`]);
      expect([...(got.tail ?? [])].sort()).toEqual(
        [`1@${root}.media.ingested`, `2@${root}.library`, `3@${root}.a.b.c`].sort(),
      );
      expect(got.exact1).toEqual([`1@${root}.media.ingested`]);
      expect(got.exact2).toEqual([`1@${root}.media.ingested`]);
      expect(got.mid).toEqual([`1@${root}.media.ingested`]);
    });

    it('stops delivering events after unsubscribe', async () => {
      const bus = await open();
      const subject = uniqueSubject('ev');
      const got: number[] = [];
      const sub = await bus.subscribe<number>(subject, (n) => {
        got.push(n);
      });
      await bus.publish(subject, 1);
      await waitFor(() => got.length === 1, 'the first event');
      await sub.unsubscribe();
      await bus.publish(subject, 2);
      await delay(200);
      expect(got).toEqual([1]);
    });

    it('hands each job to exactly one of two consumers, payload intact', async () => {
      const a = await open();
      const b = await openPeer(a);
      const subject = uniqueSubject('job');
      const seen: { by: string; n: number; nested: unknown }[] = [];
      const handler = (by: string) => async (job: JobMessage<{ n: number; nested: unknown }>) => {
        seen.push({ by, n: job.data.n, nested: job.data.nested });
        await delay(10);
      };
      const opts = { ackWaitMs: 1_000 };
      await a.consume(subject, handler('a'), opts);
      await b.consume(subject, handler('b'), opts);
      for (let n = 0; n < 20; n++) await a.enqueue(subject, { n, nested: { list: [n, 'é'], flag: true } });

      await waitFor(() => seen.length >= 20, '20 jobs');
      await delay(1_300); // past the ack wait: nothing comes back
      expect(seen.map((s) => s.n).sort((x, y) => x - y)).toEqual([...Array(20).keys()]);
      expect(seen[0]?.nested).toEqual({ list: [seen[0]?.n, 'é'], flag: true });
      expect(new Set(seen.map((s) => s.by))).toEqual(new Set(['a', 'b']));
    });

    it('does not deliver an acked job again', async () => {
      const bus = await open();
      const subject = uniqueSubject('job');
      const attempts: string[] = [];
      await bus.consume<string>(
        subject,
        async (job) => {
          attempts.push(`${job.data}#${job.attempt}`);
          if (job.data === 'explicit') await job.ack();
        },
        { ackWaitMs: 1_000 },
      );
      await bus.enqueue(subject, 'explicit');
      await bus.enqueue(subject, 'implicit');
      await waitFor(() => attempts.length === 2, 'both jobs');
      await delay(1_500);
      expect(attempts.sort()).toEqual(['explicit#1', 'implicit#1']);
    });

    it('redelivers a nak(delay) job after the delay', async () => {
      const bus = await open();
      const subject = uniqueSubject('job');
      const deliveries: { attempt: number; at: number }[] = [];
      await bus.consume(
        subject,
        async (job) => {
          deliveries.push({ attempt: job.attempt, at: Date.now() });
          if (job.attempt === 1) await job.nak(400);
        },
        { ackWaitMs: 5_000 },
      );
      await bus.enqueue(subject, 'x');
      await waitFor(() => deliveries.length === 2, 'the redelivery');
      const gap = deliveries[1]!.at - deliveries[0]!.at;
      expect(deliveries.map((d) => d.attempt)).toEqual([1, 2]);
      expect(gap).toBeGreaterThanOrEqual(350);
      expect(gap).toBeLessThan(2_500); // the nak, not the 5 s ack wait
    });

    it('retries a throwing handler with the backoff delays', async () => {
      const bus = await open();
      const subject = uniqueSubject('job');
      const deliveries: { attempt: number; at: number }[] = [];
      await bus.consume(
        subject,
        async (job) => {
          deliveries.push({ attempt: job.attempt, at: Date.now() });
          if (job.attempt < 3) throw new Error(`fail ${job.attempt}`);
        },
        { ackWaitMs: 5_000, backoffMs: [200, 700], maxAttempts: 5 },
      );
      await bus.enqueue(subject, 'x');
      await waitFor(() => deliveries.length === 3, 'three attempts');
      await delay(300);
      const [first, second, third] = deliveries;
      expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(180);
      expect(second!.at - first!.at).toBeLessThan(650);
      expect(third!.at - second!.at).toBeGreaterThanOrEqual(650);
    });

    it('dead-letters a job to dlq.<subject> with the error after maxAttempts', async () => {
      const bus = await open();
      const watcher = await openPeer(bus);
      const subject = uniqueSubject('job');
      const letters: DeadLetter<{ id: string }>[] = [];
      await watcher.subscribe<DeadLetter<{ id: string }>>(`dlq.${subject}`, (letter) => {
        letters.push(letter);
      });
      let calls = 0;
      await bus.consume(
        subject,
        async (job) => {
          calls++;
          throw new Error(`boom on attempt ${job.attempt}`);
        },
        { ackWaitMs: 5_000, backoffMs: [50], maxAttempts: 3 },
      );
      await bus.enqueue(subject, { id: 'poison' });
      await waitFor(() => letters.length === 1, 'the dead letter');
      await delay(300);
      expect(calls).toBe(3);
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({ subject, data: { id: 'poison' }, attempts: 3 });
      expect(letters[0]?.error).toContain('boom on attempt 3');
    });

    it('dead-letters a job that is never acked within maxAttempts deliveries', async () => {
      const bus = await open();
      const subject = uniqueSubject('job');
      const letters: DeadLetter[] = [];
      await bus.subscribe<DeadLetter>(`dlq.${subject}`, (letter) => {
        letters.push(letter);
      });
      const attempts: number[] = [];
      await bus.consume(
        subject,
        async (job) => {
          attempts.push(job.attempt);
          await hang();
        },
        { ackWaitMs: 1_000, maxAttempts: 2, concurrency: 3, stopGraceMs: 0 },
      );
      await bus.enqueue(subject, 'stuck');
      await waitFor(() => letters.length === 1, 'the dead letter', 6_000);
      expect(attempts).toEqual([1, 2]);
      expect(letters[0]).toMatchObject({ subject, data: 'stuck', attempts: 2 });
      expect(letters[0]?.error).toMatch(/not acknowledged/);
    });

    it('drops a second enqueue with the same dedupId', async () => {
      const bus = await open();
      const subject = uniqueSubject('job');
      const got: string[] = [];
      await bus.consume<string>(subject, async (job) => {
        got.push(job.data);
      });
      await bus.enqueue(subject, 'a', { dedupId: `${subject}-1` });
      await bus.enqueue(subject, 'a again', { dedupId: `${subject}-1` });
      await bus.enqueue(subject, 'b', { dedupId: `${subject}-2` });
      await bus.enqueue(subject, 'c');
      await waitFor(() => got.length >= 3, 'three jobs');
      await delay(300);
      expect(got.sort()).toEqual(['a', 'b', 'c']);
    });

    it('never runs more jobs at once than the concurrency', async () => {
      const bus = await open();
      const subject = uniqueSubject('job');
      let inFlight = 0;
      let maxInFlight = 0;
      let done = 0;
      await bus.consume(
        subject,
        async () => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await delay(150);
          inFlight--;
          done++;
        },
        { concurrency: 3, ackWaitMs: 5_000 },
      );
      for (let i = 0; i < 9; i++) await bus.enqueue(subject, i);
      await waitFor(() => done === 9, 'nine jobs');
      expect(maxInFlight).toBe(3);
    });

    it('keeps a long job whose handler calls working()', async () => {
      const bus = await open();
      const subject = uniqueSubject('job');
      const attempts: number[] = [];
      let done = false;
      await bus.consume(
        subject,
        async (job) => {
          attempts.push(job.attempt);
          for (let i = 0; i < 6; i++) {
            await delay(300);
            await job.working();
          }
          done = true;
        },
        { ackWaitMs: 1_000, concurrency: 2 },
      );
      await bus.enqueue(subject, 'long');
      await waitFor(() => done, 'the long job');
      await delay(300);
      expect(attempts).toEqual([1]);
    });

    it('gives a job whose consumer stopped mid-job to another consumer', async () => {
      const bus = await open();
      const subject = uniqueSubject('job');
      const crashed: number[] = [];
      const first = await bus.consume(
        subject,
        async (job) => {
          crashed.push(job.attempt);
          await hang();
        },
        { ackWaitMs: 1_000, stopGraceMs: 0 },
      );
      await bus.enqueue(subject, { id: 7 });
      await waitFor(() => crashed.length === 1, 'the first delivery');
      await first.stop();

      const other = await openPeer(bus);
      const rescued: { attempt: number; data: unknown }[] = [];
      await other.consume(
        subject,
        async (job) => {
          rescued.push({ attempt: job.attempt, data: job.data });
        },
        { ackWaitMs: 1_000 },
      );
      await waitFor(() => rescued.length === 1, 'the redelivery');
      expect(rescued[0]).toEqual({ attempt: 2, data: { id: 7 } });
      expect(crashed).toEqual([1]);
    });

    it.skipIf(!target.openPeer)(
      'gives a job whose connection closed mid-job to a consumer on another connection',
      async () => {
        const survivor = await open();
        const doomed = await openPeer(survivor);
        const subject = uniqueSubject('job');
        const crashed: number[] = [];
        await doomed.consume(
          subject,
          async (job) => {
            crashed.push(job.attempt);
            await hang();
          },
          { ackWaitMs: 1_000, stopGraceMs: 0 },
        );
        await survivor.enqueue(subject, 'x');
        await waitFor(() => crashed.length === 1, 'the first delivery');
        await doomed.close();

        const rescued: number[] = [];
        await survivor.consume(
          subject,
          async (job) => {
            rescued.push(job.attempt);
          },
          { ackWaitMs: 1_000 },
        );
        await waitFor(() => rescued.length === 1, 'the redelivery');
        expect(rescued).toEqual([2]);
        expect(crashed).toEqual([1]);
      },
    );

    it('keeps jobs until a consumer comes, and a stopped consumer takes none', async () => {
      const bus = await open();
      const subject = uniqueSubject('job');
      const got: string[] = [];
      await bus.enqueue(subject, 'early');
      let stopped: Consumer | undefined = await bus.consume<string>(subject, async (job) => {
        got.push(`first:${job.data}`);
      });
      await waitFor(() => got.length === 1, 'the early job');
      await stopped.stop();
      stopped = undefined;
      await bus.enqueue(subject, 'late');
      await delay(300);
      expect(got).toEqual(['first:early']);
      await bus.consume<string>(subject, async (job) => {
        got.push(`second:${job.data}#${job.attempt}`);
      });
      await waitFor(() => got.length === 2, 'the late job');
      expect(got).toEqual(['first:early', 'second:late#1']);
    });

    it('is unusable after close()', async () => {
      const bus = await open();
      expect(bus.status().connected).toBe(true);
      await bus.close();
      expect(bus.status().connected).toBe(false);
      await expect(bus.publish('a.b', 1)).rejects.toThrow(/closed/);
      await expect(bus.enqueue('a.b', 1)).rejects.toThrow(/closed/);
      await expect(bus.subscribe('a.b', () => {})).rejects.toThrow(/closed/);
      await expect(bus.consume('a.b', async () => {})).rejects.toThrow(/closed/);
      await bus.close(); // twice is fine
    });

    it('rejects malformed subjects', async () => {
      const bus = await open();
      await expect(bus.publish('a.*', 1)).rejects.toThrow(/invalid subject/);
      await expect(bus.publish('a..b', 1)).rejects.toThrow(/invalid subject/);
      await expect(bus.subscribe('a.>.b', () => {})).rejects.toThrow(/invalid subject pattern/);
      await expect(bus.enqueue('video.*', 1)).rejects.toThrow(/invalid job subject/);
      await expect(bus.consume('video hls', async () => {})).rejects.toThrow(/invalid job subject/);
    });

    it('key-value: create once, update only at the current revision, delete, list; shared with a peer', async () => {
      const bus = await open();
      const peer = await openPeer(bus);
      const bucket = `t${randomBytes(4).toString('hex')}`;
      const kv = await bus.keyValue(bucket);
      const other = await peer.keyValue(bucket);
      expect(await kv.get('lease.a')).toBeUndefined();
      const r1 = await kv.create('lease.a', 'one');
      expect(r1).toBeGreaterThan(0);
      expect(await other.create('lease.a', 'two')).toBeUndefined(); // exists
      expect(await other.get('lease.a')).toEqual({ value: 'one', revision: r1 });
      const r2 = await other.update('lease.a', 'two', r1!);
      expect(r2).toBeGreaterThan(r1!);
      expect(await kv.update('lease.a', 'three', r1!)).toBeUndefined(); // stale revision
      expect(await kv.get('lease.a')).toEqual({ value: 'two', revision: r2 });
      await kv.create('lease.b', 'b');
      expect(await other.keys()).toEqual(['lease.a', 'lease.b']);
      expect(await kv.delete('lease.a', r1!)).toBe(false); // stale revision
      expect(await kv.delete('lease.a', r2!)).toBe(true);
      expect(await other.get('lease.a')).toBeUndefined();
      expect(await other.create('lease.a', 'again')).toBeGreaterThan(r2!); // free again after a delete
      expect(await kv.keys()).toEqual(['lease.a', 'lease.b']);
      await expect(bus.keyValue('bad bucket')).rejects.toThrow(/invalid key-value bucket/);
      await expect(kv.get('bad key')).rejects.toThrow(/invalid key/);
    });

    it('request/reply: one responder of several answers each request; errors, silence and absence are told apart', async () => {
      const bus = await open();
      const peer = await openPeer(bus);
      const subject = uniqueSubject('rpc');
      await expect(bus.request(subject, { n: 1 }, { timeoutMs: 2_000 })).rejects.toBeInstanceOf(
        NoResponderError,
      );
      const answeredBy: string[] = [];
      const subs = await Promise.all(
        [
          ['a', bus],
          ['b', peer],
        ].map(([who, b]) =>
          (b as Bus).respond<{ n: number }, { twice: number; who: string }>(subject, async (data) => {
            answeredBy.push(who as string);
            if (data.n < 0) throw new Error(`negative ${data.n}`);
            if (data.n === 0) return new Promise<never>(() => {});
            return { twice: data.n * 2, who: who as string };
          }),
        ),
      );
      const replies = await Promise.all(
        [1, 2, 3, 4, 5, 6].map((n) =>
          bus.request<{ n: number }, { twice: number; who: string }>(subject, { n }, { timeoutMs: 2_000 }),
        ),
      );
      expect(replies.map((r) => r.twice)).toEqual([2, 4, 6, 8, 10, 12]);
      // Each request was answered exactly once (a queue group, not a broadcast).
      expect(answeredBy).toHaveLength(6);
      await expect(bus.request(subject, { n: -3 }, { timeoutMs: 2_000 })).rejects.toThrow(RequestError);
      await expect(bus.request(subject, { n: -3 }, { timeoutMs: 2_000 })).rejects.toThrow(/negative -3/);
      await expect(bus.request(subject, { n: 0 }, { timeoutMs: 300 })).rejects.toBeInstanceOf(TimeoutError);
      await Promise.all(subs.map((s) => s.unsubscribe()));
      await expect(bus.request(subject, { n: 1 }, { timeoutMs: 2_000 })).rejects.toBeInstanceOf(
        NoResponderError,
      );
    });
  });
}
