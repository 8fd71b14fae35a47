import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { uniqueJpeg } from '@lumen/test-support';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LibraryWorld, startLibraryWorld } from './library-world.ts';

/**
 * Issue 11, item 5: what the watcher lists, the api serves. Real files whose names hold a newline,
 * a tab or bytes that are not UTF-8 go through the real watcher scan and the real HTTP api: every
 * photo `/photos` lists has a thumbnail that answers, can be tagged and made a favorite; the others
 * are not listed, and the watcher says why (one log line per folder, a counter by reason).
 */

const b = (text: string) => Buffer.from(text, 'utf8');
/** `latin1-caf\xe9.jpg`: an ISO-8859-1 name, not UTF-8. */
const LATIN1_NAME = Buffer.concat([b('latin1-caf'), Buffer.from([0xe9]), b('.jpg')]);
/** A folder named `raw\xff`, not UTF-8. */
const RAW_DIR = Buffer.concat([b('raw'), Buffer.from([0xff])]);

interface LogLine {
  level: number;
  msg: string;
  dir?: string;
  skipped?: number;
  reasons?: Record<string, number>;
  examples?: string[];
}

describe('file names the api cannot serve', () => {
  let world: LibraryWorld;
  let root: string;
  const logs: LogLine[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
        done();
      },
    });
    world = await startLibraryWorld({
      libraries: { main: ['good/a.jpg', 'bad/ok.jpg'] },
      logger: pino({ level: 'debug' }, sink),
    });
    root = world.roots.main!;
    const jpeg = async (label: string) => uniqueJpeg(label);
    fs.writeFileSync(path.join(root, 'bad', 'new\nline.jpg'), await jpeg('newline'));
    fs.writeFileSync(path.join(root, 'bad', 'tab\there.jpg'), await jpeg('tab'));
    fs.writeFileSync(Buffer.concat([b(`${root}/bad/`), LATIN1_NAME]), await jpeg('latin1'));
    fs.mkdirSync(path.join(root, 'new\ndir'));
    fs.writeFileSync(path.join(root, 'new\ndir', 'inside.jpg'), await jpeg('in newline dir'));
    const rawDir = Buffer.concat([b(`${root}/`), RAW_DIR]);
    fs.mkdirSync(rawDir);
    fs.writeFileSync(Buffer.concat([rawDir, b('/inside.jpg')]), await jpeg('in raw dir'));
    logs.length = 0;
    await world.tick();
  }, 120_000);

  afterAll(async () => {
    await world?.close();
  });

  it('lists only the files whose paths the api accepts', async () => {
    expect(await world.listed()).toEqual(['main:bad/ok.jpg', 'main:good/a.jpg']);
    expect((await world.rows()).present).toEqual(['main:bad/ok.jpg', 'main:good/a.jpg']);
  });

  it('serves, tags and favorites every photo it lists', async () => {
    const page = await world.get<{ items: { library: string; path: string; thumbnail_url: string }[] }>(
      '/photos?limit=100',
    );
    expect(page.status).toBe(200);
    expect(page.body.items.length).toBe(2);
    for (const item of page.body.items) {
      const thumb = await fetch(`${world.url}${item.thumbnail_url}`, { headers: world.authHeaders });
      expect(thumb.status, `${item.path}: ${item.thumbnail_url}`).toBe(200);
      expect(thumb.headers.get('content-type')).toMatch(/^image\//);
      await thumb.arrayBuffer();
      const tag = await world.post('/image/tags', {
        library: item.library,
        path: item.path,
        tag_name: 'seen',
      });
      expect(tag.status, `tag ${item.path}`).toBeLessThan(300);
      const favorite = await world.post('/favorites', { library: item.library, path: item.path });
      expect(favorite.status, `favorite ${item.path}`).toBe(200);
      expect(await world.tagsOf(item.library, item.path)).toEqual(['seen']);
    }
    expect(await world.favorites()).toEqual(['main:bad/ok.jpg', 'main:good/a.jpg']);
  });

  it('counts the skipped names by reason', async () => {
    const metrics = await world.watcher.registry.getSingleMetricAsString('lumen_watcher_names_skipped_total');
    // bad/new\nline.jpg, bad/tab\there.jpg and new\ndir/inside.jpg; bad/latin1-caf\xe9.jpg and the raw\xff folder.
    expect(metrics).toContain(
      'lumen_watcher_names_skipped_total{library="main",reason="path.control-char"} 3',
    );
    expect(metrics).toContain('lumen_watcher_names_skipped_total{library="main",reason="path.invalid"} 2');
    const [scan] = world.watcher.lastScans();
    expect(scan).toMatchObject({ skippedNames: 5, walkErrors: 0, completed: true });
  });

  it('logs one line per folder with the count and the reasons', () => {
    const lines = logs.filter((l) => l.msg === 'files skipped: names the api cannot serve');
    const byDir = new Map(lines.map((l) => [l.dir, l]));
    expect(lines.length).toBe(byDir.size);
    expect([...byDir.keys()].sort()).toEqual(['', 'bad', 'new\ndir']);
    expect(byDir.get('bad')).toMatchObject({
      skipped: 3,
      reasons: { 'path.control-char': 2, 'path.invalid': 1 },
    });
    expect(byDir.get('new\ndir')).toMatchObject({ skipped: 1, reasons: { 'path.control-char': 1 } });
    expect(byDir.get('')).toMatchObject({ skipped: 1, reasons: { 'path.invalid': 1 } });
    expect(byDir.get('bad')!.examples!.join(' ')).toContain('"new\\nline.jpg"');
    // The folder that is not UTF-8 is not an error: it is skipped, not listed.
    expect(logs.filter((l) => l.msg === 'cannot list directory')).toEqual([]);
  });

  it('hides a row such a name got before the rule, and keeps it hidden', async () => {
    // A database from before: bad/new\nline.jpg was ingested and listed (issue 11, item 4).
    const good = await world.database.db
      .selectFrom('image_exif')
      .selectAll()
      .where('rel_path', '=', 'good/a.jpg')
      .executeTakeFirstOrThrow();
    const { id: _id, ...columns } = good;
    await world.database.db
      .insertInto('image_exif')
      .values({ ...columns, rel_path: 'bad/new\nline.jpg', dir: 'bad', file_name: 'new\nline.jpg' })
      .execute();
    expect(await world.listed()).toContain('main:bad/new\nline.jpg');
    await world.tick();
    expect(await world.listed()).toEqual(['main:bad/ok.jpg', 'main:good/a.jpg']);
    expect((await world.rows()).missing).toEqual(['main:bad/new\nline.jpg']);
    // The file is still there: the next ticks must not revive the row.
    await world.tick(2);
    expect(await world.listed()).toEqual(['main:bad/ok.jpg', 'main:good/a.jpg']);
    expect(logs.some((l) => l.msg === 'rows whose path the api cannot serve count as missing')).toBe(true);
  });

  it('refuses an upload whose name it would not list', async () => {
    const form = new FormData();
    form.set('library', 'main');
    form.set('folder', 'uploads');
    form.set('file', new Blob([new Uint8Array(await uniqueJpeg('upload'))]), 'tab\tname.jpg');
    const res = await fetch(`${world.url}/image`, { method: 'POST', headers: world.authHeaders, body: form });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as { type: string; detail: string };
    expect(problem.type).toMatch(/validation$/);
    expect(problem.detail).toContain('control character');
  });
});
