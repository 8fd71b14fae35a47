import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isUploadLeftover,
  servableName,
  servableRelPath,
  UPLOAD_LEFTOVER_AGE_MS,
  uploadTempName,
  validateRelPath,
} from '../src/index.ts';

describe('servableRelPath: the paths the watcher lists are the paths the api accepts', () => {
  it.each([
    ['a.jpg'],
    ['2024/summer/IMG_0001.JPG'],
    ['über/café/日本語.jpg'],
    ['emoji/📷.heic'],
    ['100% real.jpg'],
    ['100%20off.jpg'],
    ['2024/c:d.jpg'],
    ['with space/and (parens) [1].jpg'],
    [''],
  ])('%j is servable', (relPath) => {
    expect(servableRelPath(relPath)).toEqual({ ok: true });
    if (relPath !== '') expect(validateRelPath(relPath)).toEqual({ ok: true, relPath });
  });

  it.each([
    ['bad/new\nline.jpg', 'path.control-char'],
    ['tab\there.jpg', 'path.control-char'],
    ['cr\r.jpg', 'path.control-char'],
    ['c1\u0085.jpg', 'path.control-char'],
    ['del\u007f.jpg', 'path.control-char'],
    ['not-utf8-\uFFFD.jpg', 'path.invalid'],
    ['lone-\uD800.jpg', 'path.invalid'],
    ['back\\slash.jpg', 'path.backslash'],
    ['c:at-root.jpg', 'path.absolute'],
    ['a%2e.jpg', 'path.encoded'],
    ['a%25.jpg', 'path.encoded'],
    ['.../x.jpg', 'path.traversal'],
    [`${'x'.repeat(256)}.jpg`, 'path.too-long'],
    // Lists fine, but the api would normalize it to another path: not the same file.
    ['a//b.jpg', 'path.invalid'],
    ['./a.jpg', 'path.invalid'],
    ['dir/', 'path.invalid'],
  ])('%j is not servable (%s)', (relPath, code) => {
    expect(servableRelPath(relPath)).toMatchObject({ ok: false, code });
  });

  it('agrees with the api on every path it accepts', () => {
    const samples = ['a.jpg', 'x/y.png', 'new\nline.jpg', 'a//b', 'c:x', '100%25', '\uFFFD', 'ok/ok.jpg'];
    for (const sample of samples) {
      const api = validateRelPath(sample, { allowRoot: true });
      expect(servableRelPath(sample).ok).toBe(api.ok && api.relPath === sample);
    }
  });
});

describe('servableRelPath: the ASCII fast path agrees with the full rule', () => {
  /** The definition: what validateRelPath accepts unchanged. */
  const byDefinition = (relPath: string) => {
    const api = validateRelPath(relPath, { allowRoot: true });
    return api.ok && api.relPath === relPath;
  };
  const pieces = [
    'a',
    'B',
    '.',
    '..',
    ' ',
    '/',
    '//',
    '%',
    '%2e',
    '%20',
    '\\',
    'c:',
    'C:',
    ':',
    '~',
    '-',
    '\n',
    '\t',
    'é',
    '\uFFFD',
    '．',
    'x'.repeat(200),
  ];
  it('on paths built from the characters the rules care about', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), (parts) => {
        const relPath = parts.join('');
        expect(servableRelPath(relPath).ok).toBe(byDefinition(relPath));
      }),
      { numRuns: 5000 },
    );
  });
  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (relPath) => {
        expect(servableRelPath(relPath).ok).toBe(byDefinition(relPath));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('servableName: one file or folder name', () => {
  it.each([['a.jpg'], ['IMG 1 (2).JPG'], ['日本語.heic']])('%j is servable', (name) => {
    expect(servableName(name)).toEqual({ ok: true });
  });
  it.each([
    ['', 'path.invalid'],
    ['.', 'path.invalid'],
    ['a/b.jpg', 'path.invalid'],
    ['new\nline.jpg', 'path.control-char'],
    ['tab\t.jpg', 'path.control-char'],
    ['\uFFFD.jpg', 'path.invalid'],
    ['..', 'path.traversal'],
  ])('%j is not (%s)', (name, code) => {
    expect(servableName(name)).toMatchObject({ ok: false, code });
  });
});

describe('upload temporary files', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it('names them .upload-<16 hex>.part and refuses anything else', () => {
    expect(uploadTempName('0123456789abcdef')).toBe('.upload-0123456789abcdef.part');
    expect(() => uploadTempName('../x')).toThrow();
  });
  it.each([
    ['.upload-0123456789abcdef.part', UPLOAD_LEFTOVER_AGE_MS, true],
    ['.upload-0123456789abcdef.part', UPLOAD_LEFTOVER_AGE_MS + 1, true],
    ['.upload-0123456789abcdef.part', UPLOAD_LEFTOVER_AGE_MS - 1, false],
    ['.upload-0123456789abcdef.part', 0, false],
    ['.upload-0123456789abcdef.part.jpg', 10 * UPLOAD_LEFTOVER_AGE_MS, false],
    ['upload-0123456789abcdef.part', 10 * UPLOAD_LEFTOVER_AGE_MS, false],
    ['.upload-0123.part', 10 * UPLOAD_LEFTOVER_AGE_MS, false],
    ['IMG_1.jpg', 10 * UPLOAD_LEFTOVER_AGE_MS, false],
  ])('%j last written %d ms ago is a leftover: %s', (name, ageMs, leftover) => {
    expect(isUploadLeftover(name, now - ageMs, now)).toBe(leftover);
  });
});
