import { describe, expect, it } from 'vitest';
import { type LeaseStep, nextLeaseStep, parseLeaseValue } from '../src/index.ts';

const NOW = 1_000_000;

describe('nextLeaseStep', () => {
  it.each<[string, Parameters<typeof nextLeaseStep>[0], LeaseStep]>([
    ['no entry: create', undefined, { kind: 'create' }],
    ['an unreadable entry: take it over', { value: undefined }, { kind: 'take-over', from: undefined }],
    ['mine, still valid: renew', { value: { holder: 'me', expiresAt: NOW + 1 } }, { kind: 'renew' }],
    [
      'mine, expired: renew (nobody took it)',
      { value: { holder: 'me', expiresAt: NOW - 1 } },
      { kind: 'renew' },
    ],
    [
      "another's, valid: held",
      { value: { holder: 'w2', expiresAt: NOW + 5_000 } },
      { kind: 'held', by: 'w2', expiresAt: NOW + 5_000 },
    ],
    [
      "another's, expiring now: take over",
      { value: { holder: 'w2', expiresAt: NOW } },
      { kind: 'take-over', from: 'w2' },
    ],
    [
      "another's, expired: take over",
      { value: { holder: 'w2', expiresAt: NOW - 30_000 } },
      { kind: 'take-over', from: 'w2' },
    ],
  ])('%s', (_, current, step) => {
    expect(nextLeaseStep(current, 'me', NOW)).toEqual(step);
  });
});

describe('parseLeaseValue', () => {
  it.each<[string | undefined, ReturnType<typeof parseLeaseValue>]>([
    [undefined, undefined],
    ['{"holder":"w1","expiresAt":5}', { holder: 'w1', expiresAt: 5 }],
    ['{"holder":"w1","expiresAt":5,"extra":1}', { holder: 'w1', expiresAt: 5 }],
    ['{"holder":"","expiresAt":5}', undefined],
    ['{"holder":"w1","expiresAt":"soon"}', undefined],
    ['not json', undefined],
    ['null', undefined],
  ])('%s', (text, value) => {
    expect(parseLeaseValue(text)).toEqual(value);
  });
});
