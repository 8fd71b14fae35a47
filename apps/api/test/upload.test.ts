import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemError } from '../src/http/problem.ts';
import {
  clashName,
  nameWithMediaExtension,
  publishWithoutClobber,
  uploadFileName,
} from '../src/services/upload.service.ts';
import { CORPUS, type PhotoLibrary, startPhotoLibrary } from './photo-library-fixture.ts';
import { imageInfo } from './sharp-for-tests.ts';
import { problemOf } from './test-api.ts';

const MAX_BYTES = 1_000_000;

interface UploadResult {
  library: string;
  library_id: number;
  path: string;
  name: string;
  renamed: boolean;
  size_bytes: number;
  media_type: string;
  mime_type: string;
  ingest: string;
}

describe('upload helpers', () => {
  it.each([
    ['IMG_0001.jpg', 'IMG_0001.jpg'],
    ['C:\\Users\\me\\Pictures\\holiday.JPG', 'holiday.JPG'],
    ['/home/me/photo 1.heic', 'photo 1.heic'],
    ['  spaced.png ', 'spaced.png'],
    ['e\u0301te\u0301.jpg', 'été.jpg'],
  ])('uploadFileName(%j) = %j', (sent, name) => {
    expect(uploadFileName(sent)).toBe(name);
  });

  it.each([[undefined], [''], ['.hidden.jpg'], ['..'], ['dir/'], ['a\u0001b.jpg'], ['x'.repeat(300)]])(
    'uploadFileName(%j) is a 400 naming file',
    (sent) => {
      try {
        uploadFileName(sent);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(ProblemError);
        expect((err as ProblemError).status).toBe(400);
        expect((err as ProblemError).extra.errors?.[0]?.name).toBe('file');
      }
    },
  );

  it.each([
    ['a.jpg', 'jpeg', 'a.jpg'],
    ['a.PNG', 'jpeg', 'a.PNG'],
    ['scan', 'jpeg', 'scan.jpeg'],
    ['notes.txt', 'png', 'notes.txt.png'],
    ['clip', 'mp4', 'clip.mp4'],
  ])('nameWithMediaExtension(%j, %s) = %j', (name, format, expected) => {
    expect(nameWithMediaExtension(name, { format })).toBe(expected);
  });

  it.each([
    ['IMG_1.jpg', 1717243200, 1, 'IMG_1_1717243200.jpg'],
    ['IMG_1.jpg', 1717243200, 2, 'IMG_1_1717243200_2.jpg'],
    ['archive.tar.gz', 5, 1, 'archive.tar_5.gz'],
    ['noext', 5, 1, 'noext_5'],
  ])('clashName(%j, %i, %i) = %j', (name, seconds, attempt, expected) => {
    expect(clashName(name, seconds, attempt)).toBe(expected);
  });

  it('publishWithoutClobber never replaces a file, adding _<seconds> and then a counter', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lumen-publish-'));
    try {
      const now = Math.floor(Date.now() / 1000);
      await fs.writeFile(path.join(dir, 'a.jpg'), 'original');
      for (let s = now; s <= now + 5; s++) await fs.writeFile(path.join(dir, `a_${s}.jpg`), `taken ${s}`);
      await fs.writeFile(path.join(dir, '.tmp'), 'new bytes');
      const name = await publishWithoutClobber(path.join(dir, '.tmp'), dir, 'a.jpg');
      const match = /^a_(\d+)_2\.jpg$/.exec(name);
      expect(match, name).not.toBeNull();
      expect(Number(match![1])).toBeGreaterThanOrEqual(now);
      expect(await fs.readFile(path.join(dir, name), 'utf8')).toBe('new bytes');
      expect(await fs.readFile(path.join(dir, 'a.jpg'), 'utf8')).toBe('original');
      for (let s = now; s <= now + 5; s++) {
        expect(await fs.readFile(path.join(dir, `a_${s}.jpg`), 'utf8')).toBe(`taken ${s}`);
      }
      await expect(fs.access(path.join(dir, '.tmp'))).rejects.toThrow();
      expect(await publishWithoutClobber(await writeTemp(dir, 'fresh'), dir, 'b.jpg')).toBe('b.jpg');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

async function writeTemp(dir: string, content: string): Promise<string> {
  const file = path.join(dir, `.tmp-${Math.random()}`);
  await fs.writeFile(file, content);
  return file;
}

describe('POST /image (upload)', () => {
  let lib: PhotoLibrary;
  let canon: Buffer;

  /** A multipart upload built by fetch from FormData; entries in the order given. */
  const upload = (entries: [string, string | { bytes: Buffer; name: string }][], query = '') => {
    const form = new FormData();
    for (const [key, value] of entries) {
      if (typeof value === 'string') form.append(key, value);
      else form.append(key, new Blob([new Uint8Array(value.bytes)]), value.name);
    }
    return fetch(`${lib.t.url}/image${query}`, { method: 'POST', headers: lib.auth, body: form });
  };
  const listing = async (rel: string) => (await fs.readdir(path.join(lib.roots.main, rel))).sort();
  const noTempFiles = async (rel: string) => {
    expect((await listing(rel)).filter((n) => n.startsWith('.upload-'))).toEqual([]);
  };

  beforeAll(async () => {
    lib = await startPhotoLibrary({ UPLOAD_MAX_BYTES: String(MAX_BYTES) });
    canon = await fs.readFile(path.join(CORPUS, 'photo/exif-samples__Canon_40D.jpg'));
  });
  afterAll(async () => {
    await lib?.close();
  });

  it('stores the file in the folder (created), and it is ingested at once, not at the next scan', async () => {
    const sony = await fs.readFile(path.join(CORPUS, 'photo/mei__Sony_DSC-HX5V.jpg'));
    const started = Date.now();
    const res = await upload([
      ['library', 'main'],
      ['folder', 'uploads/2026'],
      ['file', { bytes: sony, name: 'sony.jpg' }],
    ]);
    expect(res.status).toBe(201);
    const body = (await res.json()) as UploadResult;
    expect(body).toMatchObject({
      library: 'main',
      path: 'uploads/2026/sony.jpg',
      name: 'sony.jpg',
      renamed: false,
      size_bytes: sony.length,
      media_type: 'photo',
      mime_type: 'image/jpeg',
      ingest: 'requested',
    });
    expect(res.headers.get('location')).toBe(
      `/image/metadata?path=uploads%2F2026%2Fsony.jpg&library=${body.library_id}`,
    );
    expect((await fs.readFile(path.join(lib.roots.main, 'uploads/2026/sony.jpg'))).equals(sony)).toBe(true);
    await noTempFiles('uploads/2026');

    // The scan interval is an hour: only the upload's ingest request can make this answer.
    let metadata: Response | undefined;
    while (Date.now() - started < 3_000) {
      metadata = await fetch(`${lib.t.url}${res.headers.get('location')}`, { headers: lib.auth });
      if (metadata.status === 200) break;
      await metadata.body?.cancel();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(metadata?.status).toBe(200);
    const meta = (await metadata!.json()) as {
      camera_make: string;
      gps: { lat: number } | null;
      width: number;
    };
    const expected = lib.expected['photo/mei__Sony_DSC-HX5V.jpg']!;
    expect(meta.camera_make).toBe(expected.Make);
    expect(meta.width).toBe(expected.ImageWidth);
    expect(meta.gps?.lat).toBeCloseTo(expected.GPSLatitude!, 9);
    const photos = await lib.getJson<{ items: { path: string }[] }>('/photos?path=uploads/2026');
    expect(photos.items.map((i) => i.path)).toEqual(['uploads/2026/sony.jpg']);
  });

  it('never overwrites: a taken name gets _<unix-seconds>', async () => {
    const first = (await (
      await upload([
        ['library', 'main'],
        ['folder', 'uploads/clash'],
        ['file', { bytes: canon, name: 'same.jpg' }],
      ])
    ).json()) as UploadResult;
    expect(first.name).toBe('same.jpg');
    const before = Math.floor(Date.now() / 1000);
    const nikon = await fs.readFile(path.join(CORPUS, 'photo/exif-samples__Nikon_D70.jpg'));
    const res = await upload([
      ['library', 'main'],
      ['folder', 'uploads/clash'],
      ['file', { bytes: nikon, name: 'same.jpg' }],
    ]);
    expect(res.status).toBe(201);
    const second = (await res.json()) as UploadResult;
    const match = /^same_(\d{10})\.jpg$/.exec(second.name);
    expect(match, second.name).not.toBeNull();
    expect(Math.abs(Number(match![1]) - before)).toBeLessThanOrEqual(2);
    expect(second).toMatchObject({ renamed: true, path: `uploads/clash/${second.name}` });
    expect((await fs.readFile(path.join(lib.roots.main, 'uploads/clash/same.jpg'))).equals(canon)).toBe(true);
    expect((await fs.readFile(path.join(lib.roots.main, second.path))).equals(nikon)).toBe(true);
  });

  it('takes library and folder after the file, or as query parameters', async () => {
    const after = await upload([
      ['file', { bytes: canon, name: 'late-fields.jpg' }],
      ['folder', 'uploads/late'],
      ['library', 'archive'],
    ]);
    expect(after.status).toBe(201);
    expect(await after.json()).toMatchObject({ library: 'archive', path: 'uploads/late/late-fields.jpg' });
    expect(
      (await fs.readFile(path.join(lib.roots.archive, 'uploads/late/late-fields.jpg'))).equals(canon),
    ).toBe(true);
    expect(await fs.readdir(path.join(lib.t.config.dataDir, 'upload-staging'))).toEqual([]);

    const query = await upload(
      [['file', { bytes: canon, name: 'q.jpg' }]],
      '?library=main&folder=uploads/query',
    );
    expect(query.status).toBe(201);
    expect(await query.json()).toMatchObject({ library: 'main', path: 'uploads/query/q.jpg' });

    // No library and no folder: the first library's root.
    const root = await upload([['file', { bytes: canon, name: 'at-root.jpg' }]]);
    expect(await root.json()).toMatchObject({ library: 'main', path: 'at-root.jpg' });
  });

  it('keeps only the last segment of a client path, and adds an extension the content names', async () => {
    const res = await upload([
      ['library', 'main'],
      ['folder', 'uploads/names'],
      ['file', { bytes: canon, name: 'C:\\Users\\me\\scan' }],
    ]);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ path: 'uploads/names/scan.jpeg', name: 'scan.jpeg' });
  });

  it('refuses a file over UPLOAD_MAX_BYTES with 413 and removes what was written', async () => {
    // Just over the limit: the Content-Length passes the first check, the count while streaming stops it.
    const big = Buffer.concat([canon.subarray(0, 64), Buffer.alloc(MAX_BYTES + 1 - 64, 7)]);
    const res = await upload([
      ['library', 'main'],
      ['folder', 'uploads/big'],
      ['file', { bytes: big, name: 'big.jpg' }],
    ]);
    const problem = await problemOf(res);
    expect(problem.status).toBe(413);
    expect(problem.type).toBe('https://lumen.dev/problems/payload-too-large');
    expect(await listing('uploads/big')).toEqual([]);

    // Far over: refused from its Content-Length before reading it.
    const huge = Buffer.concat([canon.subarray(0, 64), Buffer.alloc(3 * MAX_BYTES, 7)]);
    const early = await upload([
      ['library', 'main'],
      ['folder', 'uploads/big'],
      ['file', { bytes: huge, name: 'huge.jpg' }],
    ]);
    expect((await problemOf(early)).status).toBe(413);
    expect(await listing('uploads/big')).toEqual([]);
  });

  it('refuses an over-size body without a Content-Length (chunked) too', async () => {
    const boundary = 'b0undary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="folder"\r\n\r\nuploads/chunked\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.jpg"\r\n\r\n`,
    );
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new Uint8Array(Buffer.concat([head, canon.subarray(0, 64)])));
        else if (sent < 3 * MAX_BYTES) controller.enqueue(new Uint8Array(64 * 1024));
        else controller.close();
        sent += 64 * 1024;
      },
    });
    const res = await fetch(`${lib.t.url}/image?library=main`, {
      method: 'POST',
      headers: { ...lib.auth, 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      body,
      duplex: 'half',
    } as RequestInit);
    expect((await problemOf(res)).status).toBe(413);
    expect(await listing('uploads/chunked')).toEqual([]);
  });

  it.each([
    ['text named .jpg', Buffer.from('this is not a photo, just text\n'.repeat(10)), 'notes.jpg'],
    ['an empty file', Buffer.alloc(0), 'empty.jpg'],
    [
      'a PDF',
      Buffer.from('%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n1 0 obj\n<<>>\nendobj\n'.repeat(4)),
      'doc.jpg',
    ],
  ])('refuses %s with 415 and removes it', async (_label, bytes, name) => {
    const res = await upload([
      ['library', 'main'],
      ['folder', 'uploads/refused'],
      ['file', { bytes, name }],
    ]);
    const problem = await problemOf(res);
    expect(problem.status).toBe(415);
    expect(await listing('uploads/refused')).toEqual([]);
  });

  it.each([
    ['with library and folder first (written into the library)', 'before'],
    ['with the file first (staged)', 'after'],
  ])('refuses a JPEG/HTML polyglot %s: 415 scriptable-content, nothing kept', async (_label, order) => {
    // A real JPEG with a comment segment (FF FE) right after SOI that holds HTML: sharp still decodes it.
    const html = Buffer.from('<html><body><script>alert(document.cookie)</script></body></html>');
    const comment = Buffer.concat([Buffer.from([0xff, 0xfe, 0, html.length + 2]), html]);
    const polyglot = Buffer.concat([canon.subarray(0, 2), comment, canon.subarray(2)]);
    expect((await imageInfo(polyglot)).format).toBe('jpeg');

    const fields: [string, string][] = [
      ['library', 'main'],
      ['folder', `uploads/polyglot-${order}`],
    ];
    const file: [string, { bytes: Buffer; name: string }] = ['file', { bytes: polyglot, name: 'cat.jpg' }];
    const res = await upload(order === 'before' ? [...fields, file] : [file, ...fields]);
    const problem = await problemOf(res);
    expect(problem.status).toBe(415);
    expect(problem.type).toBe('https://lumen.dev/problems/scriptable-content');
    expect(problem.errors?.[0]).toMatchObject({ in: 'body', name: 'file' });
    expect(problem.detail).toContain('<html');
    await fs.mkdir(path.join(lib.roots.main, `uploads/polyglot-${order}`), { recursive: true });
    expect(await listing(`uploads/polyglot-${order}`)).toEqual([]);

    // The same photo without the HTML is taken.
    const plain = await upload([...fields, ['file', { bytes: canon, name: 'cat.jpg' }]]);
    expect(plain.status).toBe(201);
  });

  it.each([
    ['../outside', 'invalid-path'],
    ['/etc', 'invalid-path'],
    ['uploads/../../x', 'invalid-path'],
    ['a\u0000b', 'invalid-path'],
    ['escape/inside', 'invalid-path'],
  ])('refuses the folder %j with 400 naming folder', async (folder, kind) => {
    await fs.symlink(os.tmpdir(), path.join(lib.roots.main, 'escape')).catch(() => {});
    const res = await upload([
      ['library', 'main'],
      ['folder', folder],
      ['file', { bytes: canon, name: 'x.jpg' }],
    ]);
    const problem = await problemOf(res);
    expect(problem.status).toBe(400);
    expect(problem.type).toBe(`https://lumen.dev/problems/${kind}`);
    expect(problem.errors?.[0]?.name).toBe('folder');
    await expect(fs.access(path.join(os.tmpdir(), 'inside'))).rejects.toThrow();
  });

  it('answers other bad requests with problems, never 500', async () => {
    const cases: [Promise<Response>, number, string | undefined][] = [
      [
        upload([
          ['library', 'nope'],
          ['folder', 'x'],
          ['file', { bytes: canon, name: 'x.jpg' }],
        ]),
        404,
        undefined,
      ],
      [
        upload([
          ['library', 'main'],
          ['folder', 'x'],
        ]),
        400,
        'file',
      ],
      [
        upload([
          ['library', 'main'],
          ['file', { bytes: canon, name: '.hidden.jpg' }],
        ]),
        400,
        'file',
      ],
      [
        upload([
          ['file', { bytes: canon, name: 'a.jpg' }],
          ['file', { bytes: canon, name: 'b.jpg' }],
        ]),
        400,
        'file',
      ],
      [
        upload([
          ['library', 'main'],
          ['library', 'archive'],
          ['file', { bytes: canon, name: 'a.jpg' }],
        ]),
        400,
        'library',
      ],
      [
        fetch(`${lib.t.url}/image`, {
          method: 'POST',
          headers: { ...lib.auth, 'Content-Type': 'application/json' },
          body: '{}',
        }),
        415,
        'Content-Type',
      ],
      [
        fetch(`${lib.t.url}/image`, {
          method: 'POST',
          headers: { ...lib.auth, 'Content-Type': 'multipart/form-data; boundary=xyz' },
          body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n\xff\xd8\xff truncated',
        }),
        400,
        'file',
      ],
    ];
    for (const [response, status, name] of cases) {
      const problem = await problemOf(await response);
      expect(problem.status).toBe(status);
      if (name) expect(problem.errors?.map((e) => e.name)).toContain(name);
    }
    expect((await fetch(`${lib.t.url}/image`, { method: 'POST' })).status).toBe(401);
  });

  it('refuses to write into a Stale library (an unmounted share looks empty)', async () => {
    const db = lib.t.database.db;
    await db.updateTable('libraries').set({ status: 'stale' }).where('name', '=', 'archive').execute();
    try {
      const problem = await problemOf(
        await upload([
          ['library', 'archive'],
          ['folder', 'x'],
          ['file', { bytes: canon, name: 'x.jpg' }],
        ]),
      );
      expect(problem.status).toBe(503);
      await expect(fs.access(path.join(lib.roots.archive, 'x'))).rejects.toThrow();
    } finally {
      await db.updateTable('libraries').set({ status: 'online' }).where('name', '=', 'archive').execute();
    }
  });
});
