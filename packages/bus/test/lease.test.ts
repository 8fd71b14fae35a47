import { randomBytes } from 'node:crypto';
import { natsTestUrl, requireNats } from '@lumen/test-support';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryBus, createNatsBus, deleteBusPrefix, Lease, leaseHolder } from '../src/index.ts';
import type { KeyValueStore } from '../src/key-value.ts';
import { quietLogger } from './quiet-logger.ts';

const TTL = 30_000;

function replicas(store: KeyValueStore, clock: { now: number }, count: number): Lease[] {
  return Array.from(
    { length: count },
    (_, i) =>
      new Lease({
        store,
        key: 'watcher',
        holder: `w${i}`,
        ttlMs: TTL,
        logger: quietLogger(),
        now: () => clock.now,
      }),
  );
}

describe('a lease in the shared key-value store', () => {
  it('is held by at most one replica after every step of random acquires, releases, deaths and clock jumps (model)', async () => {
    type Step = { op: 'acquire' | 'release' | 'die'; who: number } | { op: 'advance'; ms: number };
    const step = fc.oneof(
      fc.record({
        op: fc.constantFrom('acquire' as const, 'release' as const, 'die' as const),
        who: fc.nat(2),
      }),
      fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2 * TTL }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps: Step[]) => {
        const bus = createMemoryBus({ logger: quietLogger() });
        const store = await bus.keyValue('leases');
        const clock = { now: 1_000_000 };
        let leases = replicas(store, clock, 3);
        for (const s of steps) {
          if (s.op === 'advance') clock.now += s.ms;
          else if (s.op === 'acquire') await leases[s.who]!.acquire();
          else if (s.op === 'release') await leases[s.who]!.release();
          else {
            // A replica dies (SIGKILL): nothing released; it comes back as a new process.
            leases = leases.map((l, i) =>
              i === s.who
                ? new Lease({
                    store,
                    key: 'watcher',
                    holder: `w${i}`,
                    ttlMs: TTL,
                    logger: quietLogger(),
                    now: () => clock.now,
                  })
                : l,
            );
          }
          const holders = leases.filter((l) => l.held());
          expect(holders.length).toBeLessThanOrEqual(1);
          // The store agrees with the one who thinks it holds it.
          const stored = await leaseHolder(store, 'watcher', clock.now);
          if (holders.length === 1) expect(stored?.holder).toBe(`w${leases.indexOf(holders[0]!)}`);
        }
        await bus.close();
      }),
      { numRuns: 200 },
    );
  });

  it('on NATS: one of two replicas holds it; released, the other takes it at once; expired, it moves', async () => {
    const servers = await requireNats(natsTestUrl());
    const prefix = `lease_${randomBytes(4).toString('hex')}`;
    const a = await createNatsBus({ servers, prefix, logger: quietLogger() });
    const b = await createNatsBus({ servers, prefix, logger: quietLogger() });
    try {
      const clock = { now: Date.now() };
      const [la] = replicas(await a.keyValue('leases'), clock, 1);
      const lb = new Lease({
        store: await b.keyValue('leases'),
        key: 'watcher',
        holder: 'w1',
        ttlMs: TTL,
        logger: quietLogger(),
        now: () => clock.now,
      });
      const [first, second] = await Promise.all([la!.acquire(), lb.acquire()]);
      expect([first, second].filter(Boolean)).toHaveLength(1); // a race: exactly one wins
      const winner = first ? la! : lb;
      const loser = first ? lb : la!;
      expect(await loser.acquire()).toBe(false);
      await winner.release();
      expect(await loser.acquire()).toBe(true);
      expect((await leaseHolder(await a.keyValue('leases'), 'watcher', clock.now))?.holder).toBe(
        loser === la ? 'w0' : 'w1',
      );
      // The holder stops renewing (it hangs); after the lease time the other takes over.
      expect(await winner.acquire()).toBe(false);
      clock.now += TTL + 1;
      expect(await winner.acquire()).toBe(true);
      expect(loser.held()).toBe(false);
      expect(await loser.acquire()).toBe(false);
    } finally {
      await a.close();
      await b.close();
      await deleteBusPrefix(servers, prefix);
    }
  });
});
