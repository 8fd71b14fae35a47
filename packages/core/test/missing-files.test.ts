import { describe, expect, it } from 'vitest';
import {
  brakeHolds,
  foldersBelowRoot,
  graceExpired,
  isHiddenEntry,
  listsNoVisibleEntry,
  type MissingTickObservation,
  massDisappearance,
  type SuspectState,
  shownLibraryStatus,
} from '../src/index.ts';

describe('listsNoVisibleEntry', () => {
  it.each<[string[], boolean]>([
    [[], true],
    [['.DS_Store'], true],
    [['.lumen-library'], true],
    [['.lumen-library', '.DS_Store', '.snapshot'], true],
    [['a.jpg'], false],
    [['.DS_Store', '2024'], false],
    [['@eaDir'], false],
    [['..hidden', '. space'], true],
  ])('%j -> %s', (names, expected) => {
    expect(listsNoVisibleEntry(names)).toBe(expected);
    expect(names.every(isHiddenEntry)).toBe(expected);
  });
});

describe('foldersBelowRoot', () => {
  it.each<[string, string[]]>([
    ['', []],
    ['a', ['a']],
    ['a/b', ['a/b', 'a']],
    ['a/b/c', ['a/b/c', 'a/b', 'a']],
    ['x y/z', ['x y/z', 'x y']],
  ])('%j -> %j', (dir, expected) => {
    expect(foldersBelowRoot(dir)).toEqual(expected);
  });
});

describe('massDisappearance (default thresholds: more than 50% of at least 20, or all of fewer)', () => {
  const tick = (checked: number, vanished: number, libraryRows: number): MissingTickObservation => ({
    checked,
    vanished,
    libraryRows,
  });
  it.each<[string, MissingTickObservation, boolean]>([
    ['nothing vanished', tick(500, 0, 10_000), false],
    ['one file of a big library', tick(500, 1, 10_000), false],
    ['exactly half of 20 is not more than half', tick(20, 10, 1000), false],
    ['11 of 20', tick(20, 11, 1000), true],
    ['251 of 500', tick(500, 251, 10_000), true],
    ['250 of 500', tick(500, 250, 10_000), false],
    ['19 checked, all vanished, but the library is big (share rule needs 20)', tick(19, 19, 1000), false],
    ['every file of a library of 5', tick(5, 5, 5), true],
    ['4 of a library of 5', tick(5, 4, 5), false],
    ['the only file of a library of 1', tick(1, 1, 1), true],
    ['every file of a library of 19', tick(19, 19, 19), true],
    ['every file of a library of 20 (share rule)', tick(20, 20, 20), true],
    ['a library of 20, 10 vanished', tick(20, 10, 20), false],
  ])('%s', (_, observation, suspect) => {
    const reason = massDisappearance(observation);
    expect(reason !== undefined).toBe(suspect);
    if (reason) expect(reason).toMatch(/vanished/);
  });

  it('takes other thresholds', () => {
    expect(massDisappearance(tick(10, 3, 100), { minChecked: 10, maxShare: 0.25 })).toBeDefined();
    expect(massDisappearance(tick(10, 2, 100), { minChecked: 10, maxShare: 0.25 })).toBeUndefined();
  });
});

describe('graceExpired', () => {
  const since = '2026-01-01T00:00:00.000Z';
  const at = (iso: string) => Date.parse(iso);
  it.each<[string, number, number, boolean]>([
    ['just marked', at(since), 60, false],
    ['one second short', at('2026-01-01T00:00:59.000Z'), 60, false],
    ['exactly the grace', at('2026-01-01T00:01:00.000Z'), 60, true],
    ['long after', at('2026-02-01T00:00:00.000Z'), 7 * 86_400, true],
    ['the clock went back', at('2025-12-01T00:00:00.000Z'), 60, false],
    ['grace 0 expires at once', at(since), 0, true],
  ])('%s', (_, now, grace, expected) => {
    expect(graceExpired(since, now, grace)).toBe(expected);
  });
  it('never expires an unreadable timestamp', () => {
    expect(graceExpired('not a date', Date.now(), 0)).toBe(false);
  });
});

describe('brake and shown status', () => {
  const state = (reason: string | null, since: string | null, confirmed: string | null): SuspectState => ({
    suspectReason: reason,
    suspectSince: since,
    missingConfirmedAt: confirmed,
  });
  it.each<[string, 'online' | 'stale', SuspectState, boolean, string]>([
    ['not suspect', 'online', state(null, null, null), false, 'online'],
    ['suspect, unconfirmed', 'online', state('x', 't1', null), true, 'suspect'],
    ['suspect, this episode confirmed', 'online', state('x', 't1', 't1'), false, 'online'],
    ['suspect again after an earlier confirmation', 'online', state('x', 't2', 't1'), true, 'suspect'],
    ['Stale wins', 'stale', state('x', 't1', null), true, 'stale'],
    ['a confirmation with nothing suspect is inert', 'online', state(null, null, 't1'), false, 'online'],
  ])('%s', (_, probe, s, holds, shown) => {
    expect(brakeHolds(s)).toBe(holds);
    expect(shownLibraryStatus(probe, s)).toBe(shown);
  });
});
