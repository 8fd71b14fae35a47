import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeLibrary } from '../src/library/library-probe.ts';

let base: string;

beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-probe-'));
  fs.mkdirSync(path.join(base, 'full'));
  fs.writeFileSync(path.join(base, 'full', 'a.jpg'), 'x');
  fs.mkdirSync(path.join(base, 'empty'));
  fs.writeFileSync(path.join(base, 'file'), 'x');
  fs.mkdirSync(path.join(base, 'marked'));
  fs.writeFileSync(path.join(base, 'marked', '.lumen-library'), '');
  fs.writeFileSync(path.join(base, 'marked', 'a.jpg'), 'x');
  // Mount points whose mount dropped: only hidden entries (our marker, a Finder file, a snapshot dir).
  fs.mkdirSync(path.join(base, 'only-marker'));
  fs.writeFileSync(path.join(base, 'only-marker', '.lumen-library'), '');
  fs.mkdirSync(path.join(base, 'only-dotfiles'));
  fs.writeFileSync(path.join(base, 'only-dotfiles', '.DS_Store'), 'x');
  fs.mkdirSync(path.join(base, 'only-dotfiles', '.snapshot'));
  fs.mkdirSync(path.join(base, 'subfolder-only'));
  fs.mkdirSync(path.join(base, 'subfolder-only', '2024'));
});

afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe('probeLibrary', () => {
  it.each([
    { case: 'a root with files', root: 'full', hasRows: true, status: 'online', reason: undefined },
    {
      case: 'an empty root, no rows (new library)',
      root: 'empty',
      hasRows: false,
      status: 'online',
      reason: undefined,
    },
    {
      case: 'an empty root while rows exist (unmounted)',
      root: 'empty',
      hasRows: true,
      status: 'stale',
      reason: /lists no files/,
    },
    {
      case: 'a root holding only our marker while rows exist',
      root: 'only-marker',
      hasRows: true,
      status: 'stale',
      reason: /lists no files \(at most hidden ones/,
    },
    {
      case: 'a root holding only dotfiles while rows exist',
      root: 'only-dotfiles',
      hasRows: true,
      status: 'stale',
      reason: /lists no files/,
    },
    {
      case: 'a root holding only dotfiles, no rows',
      root: 'only-dotfiles',
      hasRows: false,
      status: 'online',
      reason: undefined,
    },
    {
      case: 'a root holding a folder',
      root: 'subfolder-only',
      hasRows: true,
      status: 'online',
      reason: undefined,
    },
    { case: 'a missing root', root: 'missing', hasRows: false, status: 'stale', reason: /ENOENT/ },
    { case: 'a file as root', root: 'file', hasRows: false, status: 'stale', reason: /not a directory/ },
  ])('$case is $status', async ({ root, hasRows, status, reason }) => {
    const result = await probeLibrary(path.join(base, root), { hasRows, timeoutMs: 5_000 });
    expect(result.status).toBe(status);
    if (reason) expect(result.reason).toMatch(reason);
    else expect(result.reason).toBeUndefined();
  });

  it.each([
    { root: 'full', hasRows: true, status: 'stale' },
    { root: 'marked', hasRows: true, status: 'online' },
    // A library never scanned has no marker yet: its first scan writes it.
    { root: 'full', hasRows: false, status: 'online' },
  ])('with a required marker file, $root (rows: $hasRows) is $status', async ({ root, hasRows, status }) => {
    const result = await probeLibrary(path.join(base, root), {
      hasRows,
      timeoutMs: 5_000,
      markerFile: '.lumen-library',
    });
    expect(result.status).toBe(status);
  });
});
