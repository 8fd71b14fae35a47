import { describe, expect, it } from 'vitest';
import { diffDirectory, type KnownFile, type ListedFile, storedMtimeMs } from './diff-directory.ts';
import { directoryChangedSince } from './directory-changed.ts';

const T = 1_700_000_000_000;
const file = (name: string, size = 100, mtimeMs = T): ListedFile => ({ name, size, mtimeMs });
const row = (file_name: string, size_bytes = 100, mtime_ms = T): KnownFile & { id: number } => ({
  id: file_name.length,
  file_name,
  size_bytes,
  mtime_ms,
});

describe('diffDirectory', () => {
  it.each([
    {
      case: 'empty directory, no rows',
      listed: [],
      known: [],
      added: [],
      changed: [],
      unchanged: [],
      missing: [],
    },
    {
      case: 'new file',
      listed: [file('a.jpg')],
      known: [],
      added: ['a.jpg'],
      changed: [],
      unchanged: [],
      missing: [],
    },
    {
      case: 'unchanged file',
      listed: [file('a.jpg')],
      known: [row('a.jpg')],
      added: [],
      changed: [],
      unchanged: ['a.jpg'],
      missing: [],
    },
    {
      case: 'size changed',
      listed: [file('a.jpg', 200)],
      known: [row('a.jpg', 100)],
      added: [],
      changed: ['a.jpg'],
      unchanged: [],
      missing: [],
    },
    {
      case: 'mtime changed',
      listed: [file('a.jpg', 100, T + 1000)],
      known: [row('a.jpg', 100, T)],
      added: [],
      changed: ['a.jpg'],
      unchanged: [],
      missing: [],
    },
    {
      case: 'sub-millisecond mtime fraction is not a change',
      listed: [file('a.jpg', 100, T + 0.731)],
      known: [row('a.jpg', 100, T)],
      added: [],
      changed: [],
      unchanged: ['a.jpg'],
      missing: [],
    },
    {
      case: 'removed from the listing is reported, not added or changed',
      listed: [file('b.jpg')],
      known: [row('a.jpg'), row('b.jpg')],
      added: [],
      changed: [],
      unchanged: ['b.jpg'],
      missing: ['a.jpg'],
    },
    {
      case: 'names are case-sensitive (IMG.JPG and img.jpg are two files)',
      listed: [file('IMG.JPG'), file('img.jpg')],
      known: [row('img.jpg')],
      added: ['IMG.JPG'],
      changed: [],
      unchanged: ['img.jpg'],
      missing: [],
    },
    {
      case: 'a mix',
      listed: [file('new.jpg'), file('same.jpg'), file('grown.jpg', 999), file('touched.mp4', 100, T + 5)],
      known: [row('same.jpg'), row('grown.jpg'), row('touched.mp4'), row('gone.png')],
      added: ['new.jpg'],
      changed: ['grown.jpg', 'touched.mp4'],
      unchanged: ['same.jpg'],
      missing: ['gone.png'],
    },
  ])('$case', ({ listed, known, added, changed, unchanged, missing }) => {
    const diff = diffDirectory(listed, known);
    expect(diff.added.map((f) => f.name)).toEqual(added);
    expect(diff.changed.map((c) => c.file.name)).toEqual(changed);
    expect(diff.changed.every((c) => c.known.file_name === c.file.name)).toBe(true);
    expect(diff.unchanged.map((r) => r.file_name)).toEqual(unchanged);
    expect(diff.missing.map((r) => r.file_name)).toEqual(missing);
  });

  it('hands back the stored row of a changed file (its id is needed to update it)', () => {
    const stored = row('a.jpg', 1);
    expect(diffDirectory([file('a.jpg', 2)], [stored]).changed[0]?.known).toBe(stored);
  });
});

describe('storedMtimeMs', () => {
  it.each([
    [T, T],
    [T + 0.999, T],
    [0, 0],
  ])('%d -> %d', (input, expected) => {
    expect(storedMtimeMs(input)).toBe(expected);
  });
});

describe('directoryChangedSince', () => {
  it.each([
    { case: 'directory touched after', dir: T + 1, files: [T - 10], since: T, expected: true },
    { case: 'a file touched after', dir: T - 10, files: [T - 10, T + 1], since: T, expected: true },
    { case: 'nothing after', dir: T - 10, files: [T - 10, T], since: T, expected: false },
    { case: 'empty directory, old', dir: T - 10, files: [], since: T, expected: false },
    { case: 'exactly at the cut-off is not after', dir: T, files: [T], since: T, expected: false },
    { case: 'first scan (since 0) compares everything', dir: 1, files: [], since: 0, expected: true },
  ])('$case', ({ dir, files, since, expected }) => {
    expect(
      directoryChangedSince(
        dir,
        files.map((mtimeMs) => ({ mtimeMs })),
        since,
      ),
    ).toBe(expected);
  });
});
