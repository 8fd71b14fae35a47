import { describe, expect, it } from 'vitest';
import { chooseScanKind, quickScanCutoffMs } from './scan-schedule.ts';

const NOW = Date.parse('2024-06-01T12:00:00.000Z');
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('chooseScanKind', () => {
  it.each([
    { case: 'first scan of the run', first: true, lastFull: iso(NOW - 1000), expected: 'full' },
    { case: 'never fully scanned', first: false, lastFull: null, expected: 'full' },
    { case: 'unreadable last full time', first: false, lastFull: 'garbage', expected: 'full' },
    { case: 'full interval not yet passed', first: false, lastFull: iso(NOW - HOUR + 1), expected: 'quick' },
    { case: 'full interval exactly passed', first: false, lastFull: iso(NOW - HOUR), expected: 'full' },
    { case: 'full interval long passed', first: false, lastFull: iso(NOW - 5 * HOUR), expected: 'full' },
  ])('$case -> $expected', ({ first, lastFull, expected }) => {
    expect(
      chooseScanKind({
        nowMs: NOW,
        fullIntervalMs: HOUR,
        lastFullScanAt: lastFull,
        lastQuickScanAt: iso(NOW - 1000),
        firstScanThisRun: first,
      }),
    ).toBe(expected);
  });
});

describe('quickScanCutoffMs', () => {
  it.each([
    { case: 'nothing scanned yet', quick: null, full: null, expected: 0 },
    { case: 'only a full scan', quick: null, full: iso(NOW), expected: NOW - 10_000 },
    {
      case: 'the later of the two wins (quick)',
      quick: iso(NOW),
      full: iso(NOW - HOUR),
      expected: NOW - 10_000,
    },
    {
      case: 'the later of the two wins (full)',
      quick: iso(NOW - HOUR),
      full: iso(NOW),
      expected: NOW - 10_000,
    },
    { case: 'never below zero', quick: iso(5_000), full: null, expected: 0 },
  ])('$case', ({ quick, full, expected }) => {
    expect(quickScanCutoffMs(quick, full, 10_000)).toBe(expected);
  });
});
