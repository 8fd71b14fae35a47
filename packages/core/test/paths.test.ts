import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkOpenedFile,
  isInsideRoot,
  joinRelPath,
  PathError,
  requireRelPath,
  resolveInsideRoot,
  splitRelPath,
  validateRelPath,
} from '../src/index.ts';

describe('validateRelPath accepts and normalizes good paths', () => {
  it.each([
    ['a.jpg', 'a.jpg'],
    ['2024/summer/IMG_0001.JPG', '2024/summer/IMG_0001.JPG'],
    ['./2024/a.jpg', '2024/a.jpg'],
    ['2024//a.jpg', '2024/a.jpg'],
    ['2024/./a.jpg', '2024/a.jpg'],
    ['2024/summer/', '2024/summer'],
    ['.hidden/file.jpg', '.hidden/file.jpg'],
    ['..foo/bar..jpg', '..foo/bar..jpg'],
    ['a..b/c', 'a..b/c'],
    ['with space/and (parens) [1].jpg', 'with space/and (parens) [1].jpg'],
    ['100% real.jpg', '100% real.jpg'],
    ['100%20off.jpg', '100%20off.jpg'],
    ['über/café/日本語.jpg', 'über/café/日本語.jpg'],
    ['emoji/📷.heic', 'emoji/📷.heic'],
    ['Cafe\u0301.jpg', 'Cafe\u0301.jpg'],
    ['~/x.jpg', '~/x.jpg'],
    ['ab:c.jpg', 'ab:c.jpg'],
    ['2024/c:d.jpg', '2024/c:d.jpg'],
    [' /a.jpg', ' /a.jpg'],
    ['@eaDir/SYNOPHOTO_THUMB_M.jpg', '@eaDir/SYNOPHOTO_THUMB_M.jpg'],
    [`${'x'.repeat(255)}/y`, `${'x'.repeat(255)}/y`],
  ])('%j -> %j', (input, expected) => {
    expect(validateRelPath(input)).toEqual({ ok: true, relPath: expected });
  });

  it.each([[''], ['.'], ['./'], ['.//./']])('%j is the root only when allowRoot is set', (input) => {
    expect(validateRelPath(input, { allowRoot: true })).toEqual({ ok: true, relPath: '' });
    expect(validateRelPath(input)).toMatchObject({ ok: false, code: 'path.empty' });
  });
});

describe('validateRelPath rejects hostile paths', () => {
  const hostile: [string, string][] = [
    // traversal
    ['..', 'path.traversal'],
    ['../etc/passwd', 'path.traversal'],
    ['../../../../../../etc/passwd', 'path.traversal'],
    ['a/../../b', 'path.traversal'],
    ['a/../b', 'path.traversal'],
    ['a/b/..', 'path.traversal'],
    ['./../x', 'path.traversal'],
    ['...', 'path.traversal'],
    ['a/.../b', 'path.traversal'],
    ['.. /x', 'path.traversal'],
    [' ../x', 'path.traversal'],
    ['. ./x', 'path.traversal'],
    // Unicode look-alikes that become traversal under NFKC
    ['\uFF0E\uFF0E/etc/passwd', 'path.traversal'],
    ['..\uFF0Fetc', 'path.traversal'],
    ['\u2024\u2024/x', 'path.traversal'],
    ['\uFF0Fetc/passwd', 'path.traversal'],
    ['a\uFF3Cb', 'path.traversal'],
    // absolute
    ['/etc/passwd', 'path.absolute'],
    ['//server/share/x', 'path.absolute'],
    ['/', 'path.absolute'],
    ['C:', 'path.absolute'],
    ['C:/Windows/win.ini', 'path.absolute'],
    ['c:foo.jpg', 'path.absolute'],
    ['z:/x', 'path.absolute'],
    ['a:b.jpg', 'path.absolute'],
    // backslashes
    ['..\\..\\windows\\win.ini', 'path.backslash'],
    ['a\\b.jpg', 'path.backslash'],
    ['\\\\server\\share', 'path.backslash'],
    ['C:\\Windows', 'path.backslash'],
    // NUL
    ['a.jpg\0.png', 'path.nul'],
    ['\0', 'path.nul'],
    ['a.jpg%00.png', 'path.nul'],
    // percent-encoded traversal that survived one decoding
    ['%2e%2e%2fetc%2fpasswd', 'path.encoded'],
    ['%2E%2E/etc', 'path.encoded'],
    ['..%2fetc', 'path.encoded'],
    ['a%2fb', 'path.encoded'],
    ['%252e%252e%252f', 'path.encoded'],
    ['%25%32%65', 'path.encoded'],
    ['%c0%ae%c0%ae/etc', 'path.encoded'],
    ['%c0%af', 'path.encoded'],
    ['%e0%80%ae', 'path.encoded'],
    ['%5c..%5c', 'path.encoded'],
    ['%u002e%u002e/x', 'path.encoded'],
    ['a%0ab', 'path.encoded'],
    // control characters
    ['a\nb.jpg', 'path.control-char'],
    ['a\rb.jpg', 'path.control-char'],
    ['tab\there', 'path.control-char'],
    ['esc\u001b[31m.jpg', 'path.control-char'],
    ['del\u007f.jpg', 'path.control-char'],
    ['c1\u0085.jpg', 'path.control-char'],
    // not valid text
    ['bad\uFFFD.jpg', 'path.invalid'],
    ['lone\uD800.jpg', 'path.invalid'],
    ['lone\uDC00.jpg', 'path.invalid'],
    // sizes
    ['a/'.repeat(2049), 'path.too-long'],
    ['x'.repeat(256), 'path.too-long'],
    [`${'é'.repeat(128)}.jpg`, 'path.too-long'],
  ];

  it('has at least 30 cases', () => {
    expect(hostile.length).toBeGreaterThanOrEqual(30);
  });

  it.each(hostile)('%j -> %s', (input, code) => {
    const result = validateRelPath(input, { allowRoot: true });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(code);
      expect(result.reason.length).toBeGreaterThan(3);
    }
  });

  it('rejects a non-string defensively', () => {
    expect(validateRelPath(42 as unknown as string)).toMatchObject({ ok: false, code: 'path.invalid' });
  });
});

describe('requireRelPath, splitRelPath, joinRelPath', () => {
  it('returns the normalized path or throws a PathError with the code', () => {
    expect(requireRelPath('./a//b.jpg')).toBe('a/b.jpg');
    expect(() => requireRelPath('../x')).toThrow(PathError);
    try {
      requireRelPath('/etc/passwd');
    } catch (err) {
      expect(err).toBeInstanceOf(PathError);
      expect((err as PathError).code).toBe('path.absolute');
      expect((err as PathError).message).toBe('Path is absolute');
    }
  });

  it.each([
    ['a.jpg', { dir: '', fileName: 'a.jpg' }],
    ['a/b.jpg', { dir: 'a', fileName: 'b.jpg' }],
    ['a/b/c.jpg', { dir: 'a/b', fileName: 'c.jpg' }],
  ])('splitRelPath(%j)', (relPath, parts) => {
    expect(splitRelPath(relPath)).toEqual(parts);
    expect(joinRelPath(parts.dir, parts.fileName)).toBe(relPath);
  });
});

describe('isInsideRoot and checkOpenedFile (the rule for an opened descriptor)', () => {
  it.each([
    ['/lib', '/lib', true],
    ['/lib', '/lib/a.jpg', true],
    ['/lib/', '/lib/a/b.jpg', true],
    ['/lib', '/lib-evil/a.jpg', false],
    ['/lib', '/libx', false],
    ['/lib', '/etc/passwd', false],
    ['/lib', '/', false],
    ['/lib', 'lib/a.jpg', false],
    ['/', '/etc/passwd', true],
  ])('isInsideRoot(%j, %j) = %s', (root, candidate, inside) => {
    expect(isInsideRoot(root, candidate)).toBe(inside);
  });

  const same = { dev: 2049, ino: 42 };
  it.each([
    ['inside, same file', '/lib/race/a.jpg', same, same, true, undefined],
    ['inside, bigint stats', '/lib/a.jpg', { dev: 2049n, ino: 42n }, same, true, undefined],
    ['outside (swapped folder)', '/outside/passwd', same, same, false, 'path.symlink-escape'],
    ['outside (sibling with root prefix)', '/lib-evil/a.jpg', same, same, false, 'path.symlink-escape'],
    ['deleted since it was opened', '/lib/a.jpg (deleted)', same, undefined, false, 'path.changed'],
    ['another file at that name now', '/lib/a.jpg', same, { dev: 2049, ino: 43 }, false, 'path.changed'],
    ['another device', '/lib/a.jpg', same, { dev: 2050, ino: 42 }, false, 'path.changed'],
  ] as const)('%s', (_label, fdPath, fd, atPath, ok, code) => {
    const result = checkOpenedFile({ realRoot: '/lib', fdPath, fd, atPath });
    expect(result.ok).toBe(ok);
    if (!result.ok) expect(result.code).toBe(code);
  });
});

describe('resolveInsideRoot on a real filesystem', () => {
  let tmp: string;
  let root: string;
  let outside: string;

  beforeAll(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-core-paths-')));
    root = path.join(tmp, 'library');
    outside = path.join(tmp, 'outside');
    fs.mkdirSync(path.join(root, '2024', 'summer'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(root, '2024', 'summer', 'a.jpg'), 'jpeg');
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    // Escapes: a directory link, a file link, and a relative link that climbs out.
    fs.symlinkSync(outside, path.join(root, 'escape-dir'));
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'escape-file.jpg'));
    fs.symlinkSync('../../outside', path.join(root, '2024', 'relative-escape'));
    fs.symlinkSync('/', path.join(root, 'fs-root'));
    // Stays inside: an absolute and a relative link to folders of the library.
    fs.symlinkSync(path.join(root, '2024', 'summer'), path.join(root, 'summer-link'));
    fs.symlinkSync('summer/a.jpg', path.join(root, '2024', 'a-link.jpg'));
    // Dangling links and a loop.
    fs.symlinkSync(path.join(outside, 'not-yet'), path.join(root, 'dangling-out'));
    fs.symlinkSync('loop-b', path.join(root, 'loop-a'));
    fs.symlinkSync('loop-a', path.join(root, 'loop-b'));
    // A library root that is itself a symlink (e.g. /mnt/photos -> /data/photos).
    fs.symlinkSync(root, path.join(tmp, 'root-link'));
  });

  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it.each([
    ['2024/summer/a.jpg', '2024/summer/a.jpg', '2024/summer/a.jpg'],
    ['./2024//summer/a.jpg', '2024/summer/a.jpg', '2024/summer/a.jpg'],
    ['summer-link/a.jpg', 'summer-link/a.jpg', '2024/summer/a.jpg'],
    ['2024/a-link.jpg', '2024/a-link.jpg', '2024/summer/a.jpg'],
    ['2024/summer/new-upload.jpg', '2024/summer/new-upload.jpg', '2024/summer/new-upload.jpg'],
    ['new/nested/dir/upload.jpg', 'new/nested/dir/upload.jpg', 'new/nested/dir/upload.jpg'],
    ['summer-link/new.jpg', 'summer-link/new.jpg', '2024/summer/new.jpg'],
    ['2024/summer/a.jpg/impossible', '2024/summer/a.jpg/impossible', '2024/summer/a.jpg/impossible'],
  ])('allows %j', async (input, relPath, realRel) => {
    const resolved = await resolveInsideRoot(root, input);
    expect(resolved).toEqual({
      absPath: path.join(root, relPath),
      relPath,
      realPath: path.join(root, realRel),
      realRoot: root,
    });
  });

  it('allows the root itself when asked', async () => {
    await expect(resolveInsideRoot(root, '', { allowRoot: true })).resolves.toEqual({
      absPath: root,
      relPath: '',
      realPath: root,
      realRoot: root,
    });
    await expect(resolveInsideRoot(root, '')).rejects.toMatchObject({ code: 'path.empty' });
  });

  it('works when the root itself is a symlink', async () => {
    const linkedRoot = path.join(tmp, 'root-link');
    await expect(resolveInsideRoot(linkedRoot, '2024/summer/a.jpg')).resolves.toEqual({
      absPath: path.join(linkedRoot, '2024/summer/a.jpg'),
      relPath: '2024/summer/a.jpg',
      realPath: path.join(root, '2024/summer/a.jpg'),
      realRoot: root,
    });
    await expect(resolveInsideRoot(linkedRoot, 'escape-dir/secret.txt')).rejects.toMatchObject({
      code: 'path.symlink-escape',
    });
  });

  it.each([
    ['escape-dir', 'path.symlink-escape'],
    ['escape-dir/secret.txt', 'path.symlink-escape'],
    ['escape-dir/new-upload.jpg', 'path.symlink-escape'],
    ['escape-dir/new/deeper/upload.jpg', 'path.symlink-escape'],
    ['escape-file.jpg', 'path.symlink-escape'],
    ['2024/relative-escape/secret.txt', 'path.symlink-escape'],
    ['fs-root/etc/passwd', 'path.symlink-escape'],
    ['dangling-out', 'path.symlink-dangling'],
    ['dangling-out/x.jpg', 'path.symlink-dangling'],
    ['loop-a/x.jpg', 'path.symlink-loop'],
    ['../outside/secret.txt', 'path.traversal'],
    ['/etc/passwd', 'path.absolute'],
    ['a.jpg%00', 'path.nul'],
  ])('rejects %j with %s', async (input, code) => {
    const error = await resolveInsideRoot(root, input).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(PathError);
    expect((error as PathError).code).toBe(code);
    // Messages may reach clients: they never show the server's absolute paths.
    expect((error as PathError).message).not.toContain(tmp);
  });

  it('rejects a root that does not exist', async () => {
    await expect(resolveInsideRoot(path.join(tmp, 'missing-root'), 'a.jpg')).rejects.toMatchObject({
      code: 'path.root-unavailable',
    });
  });

  it('does not treat a sibling folder sharing the root prefix as inside', async () => {
    // /tmp/x/library-evil starts with "/tmp/x/library" but is not inside it.
    fs.mkdirSync(path.join(tmp, 'library-evil'));
    fs.symlinkSync(path.join(tmp, 'library-evil'), path.join(root, 'prefix-trick'));
    await expect(resolveInsideRoot(root, 'prefix-trick/x.jpg')).rejects.toMatchObject({
      code: 'path.symlink-escape',
    });
  });
});
