import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WalkEvent, walkDirectories } from '../src/scan/directory-walk.ts';

let root: string;
let outside: string;

function write(rel: string, bytes = 3): void {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, Buffer.alloc(bytes, 1));
}

async function collect(walkRoot: string, opts = {}): Promise<{ events: WalkEvent[]; files: string[] }> {
  const events: WalkEvent[] = [];
  for await (const event of walkDirectories(walkRoot, opts)) events.push(event);
  const files = events
    .flatMap((e) =>
      e.type === 'dir' ? e.files.map((f) => (e.dir === '' ? f.name : `${e.dir}/${f.name}`)) : [],
    )
    .sort();
  return { events, files };
}

beforeAll(() => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-walk-'));
  root = path.join(base, 'library');
  outside = path.join(base, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret.jpg'), 'x');
  write('a.jpg', 10);
  write('sub/b.png', 20);
  write('sub/deeper/c.mp4', 30);
  write('notes.txt');
  write('.hidden.jpg');
  write('.git/objects/x.jpg');
  write('@eaDir/a.jpg/SYNOPHOTO_THUMB_M.jpg');
  write('.thumbnails/t.jpg');
  write('#recycle/old.jpg');
  write('#snapshot/s.jpg');
  write('sub/@eaDir/b.png/thumb.jpg');
  fs.mkdirSync(path.join(root, 'empty'));
  fs.symlinkSync(path.join(root, 'a.jpg'), path.join(root, 'link-inside.jpg'));
  fs.symlinkSync(path.join(outside, 'secret.jpg'), path.join(root, 'link-outside.jpg'));
  fs.symlinkSync(outside, path.join(root, 'dir-outside'));
  fs.symlinkSync(path.join(root, 'sub'), path.join(root, 'dir-inside'));
  fs.symlinkSync(path.join(root, 'missing.jpg'), path.join(root, 'broken.jpg'));
});

afterAll(() => {
  fs.rmSync(path.dirname(root), { recursive: true, force: true });
});

describe('walkDirectories', () => {
  it('lists every file with size and mtime, one event per directory, skipping the default folders', async () => {
    const { events, files } = await collect(root);
    expect(files).toEqual(['a.jpg', 'link-inside.jpg', 'notes.txt', 'sub/b.png', 'sub/deeper/c.mp4']);
    const dirs = events.filter((e) => e.type === 'dir').map((e) => e.dir);
    expect(dirs.sort()).toEqual(['', 'empty', 'sub', 'sub/deeper']);
    const top = events.find((e) => e.type === 'dir' && e.dir === '');
    const a = top?.type === 'dir' ? top.files.find((f) => f.name === 'a.jpg') : undefined;
    expect(a?.size).toBe(10);
    expect(a?.mtimeMs).toBeCloseTo(fs.statSync(path.join(root, 'a.jpg')).mtimeMs, 0);
    expect(top?.type === 'dir' && top.dirMtimeMs).toBeCloseTo(fs.statSync(root).mtimeMs, 0);
  });

  it('reports names that are not UTF-8 without opening them, and upload temporary files apart', async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-walk-names-'));
    const latin1 = Buffer.concat([Buffer.from(`${base}/caf`), Buffer.from([0xe9]), Buffer.from('.jpg')]);
    fs.writeFileSync(latin1, 'x');
    const rawDir = Buffer.concat([Buffer.from(`${base}/raw`), Buffer.from([0xff])]);
    fs.mkdirSync(rawDir);
    fs.writeFileSync(Buffer.concat([rawDir, Buffer.from('/inside.jpg')]), 'x');
    fs.writeFileSync(path.join(base, 'ok.jpg'), 'x');
    fs.writeFileSync(path.join(base, '.upload-0123456789abcdef.part'), 'x');
    fs.writeFileSync(path.join(base, '.upload-not-hex.part'), 'x');
    fs.mkdirSync(path.join(base, '.upload-fedcba9876543210.part'));
    try {
      const { events, files } = await collect(base);
      expect(files).toEqual(['ok.jpg']);
      expect(events.filter((e) => e.type === 'error')).toEqual([]);
      const top = events.find((e) => e.type === 'dir' && e.dir === '');
      expect(top?.type === 'dir' && [...top.unreadable].sort()).toEqual(['caf\uFFFD.jpg', 'raw\uFFFD']);
      expect(top?.type === 'dir' && top.uploadTemps.map((t) => t.name)).toEqual([
        '.upload-0123456789abcdef.part',
      ]);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  it('returns its counts when done', async () => {
    const walk = walkDirectories(root);
    let result = await walk.next();
    while (!result.done) result = await walk.next();
    expect(result.value).toMatchObject({ dirs: 4, files: 5, errors: 0 });
    // link-outside.jpg, dir-outside, broken.jpg, dir-inside
    expect(result.value.skippedSymlinks).toBe(4);
  });

  // root reads every directory whatever its mode: nothing to test there
  it.skipIf(process.getuid?.() === 0)('keeps walking when a directory cannot be listed', async () => {
    const locked = path.join(root, 'locked');
    fs.mkdirSync(locked);
    fs.chmodSync(locked, 0);
    try {
      const { events, files } = await collect(root);
      expect(events.some((e) => e.type === 'error' && e.dir === 'locked')).toBe(true);
      expect(files).toContain('sub/deeper/c.mp4');
    } finally {
      fs.chmodSync(locked, 0o755);
      fs.rmdirSync(locked);
    }
  });

  it('reports a missing root as an error event', async () => {
    const { events } = await collect(path.join(root, 'nope'));
    expect(events).toEqual([expect.objectContaining({ type: 'error', dir: '', code: 'ENOENT' })]);
  });

  it('stops early when the consumer breaks out, and with a small in-flight window still sees everything', async () => {
    const many = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-walk-many-'));
    try {
      for (let d = 0; d < 40; d++) {
        fs.mkdirSync(path.join(many, `d${d}`));
        for (let f = 0; f < 5; f++) fs.writeFileSync(path.join(many, `d${d}`, `f${f}.jpg`), 'x');
      }
      let seen = 0;
      for await (const event of walkDirectories(many, { maxInFlight: 1 })) {
        if (event.type === 'dir') seen += event.files.length;
        await new Promise((r) => setTimeout(r, 1));
      }
      expect(seen).toBe(200);
      let dirs = 0;
      for await (const event of walkDirectories(many, { maxInFlight: 2 })) {
        if (event.type === 'dir') dirs++;
        if (dirs === 3) break;
      }
      expect(dirs).toBe(3);
    } finally {
      fs.rmSync(many, { recursive: true, force: true });
    }
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const walk = async () => {
      for await (const _ of walkDirectories(root, { signal: controller.signal, maxInFlight: 1 })) {
        controller.abort(new Error('stop now'));
      }
    };
    await expect(walk()).rejects.toThrow('stop now');
  });
});
