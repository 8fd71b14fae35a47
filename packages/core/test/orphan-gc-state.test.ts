import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type OrphanGcDecision, OrphanGcState } from '../src/index.ts';

type Tick = { orphans: string[]; allOnline: boolean };
const online = (...orphans: string[]): Tick => ({ orphans, allOnline: true });
const stale = (...orphans: string[]): Tick => ({ orphans, allOnline: false });

function run(ticks: Tick[]): OrphanGcDecision[] {
  const state = new OrphanGcState();
  return ticks.map((tick) => state.observe(tick));
}

describe('OrphanGcState (table)', () => {
  it.each<[string, Tick[], Partial<OrphanGcDecision>[]]>([
    ['a fresh state never deletes on its first tick', [online('a', 'b')], [{ toDelete: [], pending: 2 }]],
    [
      'two consecutive all-Online ticks promote to delete',
      [online('a', 'b'), online('a', 'b')],
      [{ toDelete: [] }, { toDelete: ['a', 'b'], revived: [], pending: 2 }],
    ],
    [
      'only hashes orphaned on both ticks are deleted',
      [online('a', 'b'), online('b', 'c')],
      [{ toDelete: [] }, { toDelete: ['b'], revived: ['a'], pending: 2 }],
    ],
    [
      'a Stale tick in between cancels everything pending',
      [online('a'), stale('a'), online('a')],
      [{ toDelete: [] }, { toDelete: [], cancelled: 1, pending: 0 }, { toDelete: [], pending: 1 }],
    ],
    [
      'after a Stale tick it takes two all-Online ticks again',
      [online('a'), stale('a'), online('a'), online('a')],
      [{ toDelete: [] }, { toDelete: [] }, { toDelete: [] }, { toDelete: ['a'] }],
    ],
    [
      'a Stale tick on the second observation deletes nothing',
      [online('a'), stale('a')],
      [{ toDelete: [] }, { toDelete: [], revived: [], cancelled: 1 }],
    ],
    [
      'a hash that reappears is revived and starts over',
      [online('a'), online(), online('a'), online('a')],
      [{ toDelete: [] }, { toDelete: [], revived: ['a'], pending: 0 }, { toDelete: [] }, { toDelete: ['a'] }],
    ],
    [
      'a hash still orphaned after its delete is reported again (retry)',
      [online('a'), online('a'), online('a')],
      [{ toDelete: [] }, { toDelete: ['a'] }, { toDelete: ['a'] }],
    ],
    [
      'duplicates in one observation count once',
      [online('a', 'a'), online('a', 'a')],
      [{ pending: 1 }, { toDelete: ['a'], pending: 1 }],
    ],
    [
      'nothing orphaned, nothing to do',
      [online(), online()],
      [{ toDelete: [], revived: [], cancelled: 0, pending: 0 }],
    ],
    [
      'Stale ticks back to back',
      [stale('a'), stale('a'), online('a'), online('a')],
      [{ cancelled: 0 }, { cancelled: 0 }, { toDelete: [] }, { toDelete: ['a'] }],
    ],
  ])('%s', (_name, ticks, expected) => {
    const decisions = run(ticks);
    expected.forEach((partial, i) => {
      expect(decisions[i]).toMatchObject(partial);
    });
  });

  it('reset() forgets pending hashes, as a restart would', () => {
    const state = new OrphanGcState();
    state.observe(online('a', 'b'));
    expect(state.pendingHashes()).toEqual(['a', 'b']);
    state.reset();
    expect(state.pendingHashes()).toEqual([]);
    expect(state.observe(online('a', 'b')).toDelete).toEqual([]);
  });

  it('accepts any iterable, e.g. a generator', () => {
    const state = new OrphanGcState();
    function* hashes() {
      yield 'xxh3-128:aa';
      yield 'xxh3-128:bb';
    }
    state.observe({ orphans: hashes(), allOnline: true });
    expect(state.observe({ orphans: new Set(['xxh3-128:bb']), allOnline: true }).toDelete).toEqual([
      'xxh3-128:bb',
    ]);
  });
});

describe('OrphanGcState (properties)', () => {
  const hash = fc.constantFrom('h1', 'h2', 'h3', 'h4', 'h5');
  const tick = fc.record({ orphans: fc.array(hash, { maxLength: 5 }), allOnline: fc.boolean() });
  const ticks = fc.array(tick, { maxLength: 40 });

  it('deletes a hash exactly when it was orphaned on two consecutive all-Online ticks', () => {
    fc.assert(
      fc.property(ticks, (sequence) => {
        const decisions = run(sequence);
        decisions.forEach((decision, t) => {
          const now = sequence[t]!;
          const before = t > 0 ? sequence[t - 1] : undefined;
          const expected = new Set(
            now.orphans.filter(
              (h) => now.allOnline && before?.allOnline === true && before.orphans.includes(h),
            ),
          );
          expect(new Set(decision.toDelete)).toEqual(expected);
          expect(new Set(decision.toDelete).size).toBe(decision.toDelete.length);
        });
      }),
    );
  });

  it('never deletes on a Stale tick, on the first tick, or right after a Stale tick', () => {
    fc.assert(
      fc.property(ticks, (sequence) => {
        const decisions = run(sequence);
        decisions.forEach((decision, t) => {
          if (t === 0 || !sequence[t]!.allOnline || !sequence[t - 1]!.allOnline) {
            expect(decision.toDelete).toEqual([]);
          }
        });
      }),
    );
  });

  it('a revived hash is not deleted on the tick it reappears nor the next, unless orphaned twice again', () => {
    fc.assert(
      fc.property(ticks, (sequence) => {
        const decisions = run(sequence);
        decisions.forEach((decision, t) => {
          for (const revivedHash of decision.revived) {
            // Revived means: orphaned on t-1, not orphaned on t.
            expect(sequence[t - 1]!.orphans).toContain(revivedHash);
            expect(sequence[t]!.orphans).not.toContain(revivedHash);
            expect(decision.toDelete).not.toContain(revivedHash);
            const next = decisions[t + 1];
            if (next) expect(next.toDelete).not.toContain(revivedHash);
            // Deleted later only once it has been orphaned on two consecutive all-Online ticks again.
            for (let later = t + 2; later < decisions.length; later++) {
              if (!decisions[later]!.toDelete.includes(revivedHash)) continue;
              expect(sequence[later]!.orphans).toContain(revivedHash);
              expect(sequence[later - 1]!.orphans).toContain(revivedHash);
              expect(sequence[later]!.allOnline && sequence[later - 1]!.allOnline).toBe(true);
            }
          }
        });
      }),
    );
  });

  it('a Stale tick cancels exactly what was pending and leaves nothing pending', () => {
    fc.assert(
      fc.property(ticks, (sequence) => {
        const state = new OrphanGcState();
        for (const observation of sequence) {
          const pendingBefore = state.pendingHashes().length;
          const decision = state.observe(observation);
          if (!observation.allOnline) {
            expect(decision).toEqual({ toDelete: [], revived: [], cancelled: pendingBefore, pending: 0 });
          } else {
            expect(decision.cancelled).toBe(0);
            expect(decision.pending).toBe(new Set(observation.orphans).size);
          }
        }
      }),
    );
  });
});
