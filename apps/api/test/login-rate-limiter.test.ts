import { describe, expect, it } from 'vitest';
import { LoginRateLimiter } from '../src/services/login-rate-limiter.ts';

/** `f` = a failed attempt, `s` = a successful one, at the given ms. */
type Step = { at: number; outcome: 'f' | 's' } | { at: number; expect: 'allowed' | number };

const cases: { name: string; max: number; steps: Step[] }[] = [
  {
    name: 'allows up to max failures, then refuses until the oldest leaves the window',
    max: 3,
    steps: [
      { at: 0, outcome: 'f' },
      { at: 1_000, outcome: 'f' },
      { at: 2_000, outcome: 'f' },
      { at: 2_500, expect: 58 }, // oldest at 0 leaves at 60 000: 57.5 s -> 58
      { at: 59_999, expect: 1 },
      { at: 60_000, expect: 'allowed' },
    ],
  },
  {
    name: 'successes are forgiven and do not count',
    max: 2,
    steps: [
      { at: 0, outcome: 's' },
      { at: 1, outcome: 's' },
      { at: 2, outcome: 's' },
      { at: 3, outcome: 'f' },
      { at: 4, expect: 'allowed' },
    ],
  },
  {
    name: 'the window slides: old failures stop counting one by one',
    max: 2,
    steps: [
      { at: 0, outcome: 'f' },
      { at: 30_000, outcome: 'f' },
      { at: 59_000, expect: 1 },
      { at: 60_000, outcome: 'f' }, // the one at 0 expired: allowed, now 30 000 and 60 000 count
      { at: 61_000, expect: 29 },
      { at: 90_000, expect: 'allowed' },
    ],
  },
  {
    name: 'a limit of one refuses the second failure within the minute',
    max: 1,
    steps: [
      { at: 0, outcome: 'f' },
      { at: 100, expect: 60 },
    ],
  },
];

describe('LoginRateLimiter', () => {
  it.each(cases)('$name', ({ max, steps }) => {
    const limiter = new LoginRateLimiter({ maxFailures: max });
    for (const step of steps) {
      if ('outcome' in step) {
        const gate = limiter.begin('1.2.3.4', step.at);
        expect(gate.allowed, `attempt at ${step.at}`).toBe(true);
        if (gate.allowed && step.outcome === 's') limiter.forgive('1.2.3.4', gate.at);
      } else {
        const gate = limiter.begin('1.2.3.4', step.at);
        if (step.expect === 'allowed') {
          expect(gate.allowed, `check at ${step.at}`).toBe(true);
          if (gate.allowed) limiter.forgive('1.2.3.4', gate.at); // a probe, not a failure
        } else {
          expect(gate, `check at ${step.at}`).toEqual({ allowed: false, retryAfterSeconds: step.expect });
        }
      }
    }
  });

  it('keeps addresses apart', () => {
    const limiter = new LoginRateLimiter({ maxFailures: 1 });
    expect(limiter.begin('a', 0).allowed).toBe(true);
    expect(limiter.begin('a', 1).allowed).toBe(false);
    expect(limiter.begin('b', 1).allowed).toBe(true);
  });

  it('forgets addresses whose failures expired (bounded memory)', () => {
    const limiter = new LoginRateLimiter({ maxFailures: 5, sweepAbove: 10 });
    for (let i = 0; i < 10; i++) limiter.begin(`10.0.0.${i}`, 0);
    expect(limiter.size).toBe(10);
    limiter.begin('10.0.1.1', 61_000); // 11 tracked > 10: sweep drops the expired ten
    expect(limiter.size).toBe(1);
    expect(limiter.failureCount('10.0.0.1', 61_000)).toBe(0);
  });
});

describe('LoginRateLimiter: peek and clearUpTo', () => {
  it('peek answers like begin without counting', () => {
    const limiter = new LoginRateLimiter({ maxFailures: 1 });
    expect(limiter.peek('a', 0)).toEqual({ allowed: true, at: 0 });
    expect(limiter.peek('a', 0)).toEqual({ allowed: true, at: 0 });
    limiter.begin('a', 0);
    expect(limiter.peek('a', 1_000)).toEqual({ allowed: false, retryAfterSeconds: 59 });
  });

  it('clearUpTo forgets the failures up to a time, keeps the later ones', () => {
    const limiter = new LoginRateLimiter({ maxFailures: 5 });
    for (const at of [0, 10, 20]) limiter.begin('a', at);
    expect(limiter.clearUpTo('a', 10)).toBe(2);
    expect(limiter.failureCount('a', 30)).toBe(1);
    expect(limiter.clearUpTo('a', 10)).toBe(0);
    expect(limiter.clearUpTo('nobody', 10)).toBe(0);
    expect(limiter.clearUpTo('a', 20)).toBe(1);
    expect(limiter.keys()).toEqual([]);
  });
});
