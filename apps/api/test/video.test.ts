import http from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { VideoUrlSigner } from '../src/services/video-url-signer.ts';
import { problemOf, TEST_SECRET } from './test-api.ts';
import {
  makeH264Aac,
  makeHevc,
  makeJpeg,
  makeTruncated,
  probeDuration,
  run,
  startVideoFixture,
  type VideoFixture,
  waitFor,
} from './video-fixture.ts';

/**
 * The video routes through the real HTTP server, with the real transcoder making real HLS output
 * on the same bus, and ffmpeg playing it as a client over HTTP.
 */

const H264 = 'clips/h264.mp4';
const HEVC = 'clips/hevc.mp4';
const TRUNCATED = 'broken/truncated.mp4';
const PHOTO = 'photos/still.jpg';
const WAITING = 'clips/waiting.mp4';
const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';

interface VideoStatus {
  state: 'queued' | 'running' | 'ready' | 'failed';
  error?: string;
  stream_url?: string;
}

interface WallItem {
  library: string;
  path: string;
  duration_sec: number | null;
  width: number | null;
  height: number | null;
  clip_url: string | null;
  gif_url: string | null;
  stream_url: string;
  clip_ready: boolean;
  clip_state: string;
  clip_error?: string;
}

interface WallPage {
  items: WallItem[];
  total: number;
  next_cursor: string | null;
}

let f: VideoFixture;

const q = (relPath: string) => `path=${encodeURIComponent(relPath)}&library=main`;
const get = (pathAndQuery: string, headers: Record<string, string> = f.auth) =>
  fetch(`${f.url}${pathAndQuery}`, { headers });
const generate = (body: unknown, headers: Record<string, string> = f.auth) =>
  fetch(`${f.url}/video/generate`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

/** POST /video/generate until the state is final. */
async function finalState(relPath: string): Promise<{ status: number; body: VideoStatus }> {
  return waitFor(async () => {
    const res = await generate({ path: relPath, library: 'main' });
    const body = (await res.json()) as VideoStatus;
    if (res.status === 202) {
      expect(['queued', 'running']).toContain(body.state);
      expect(res.headers.get('retry-after')).toBe('2');
      return undefined;
    }
    return { status: res.status, body };
  }, `a final state of ${relPath}`);
}

/** The URI lines of a playlist. */
function uris(playlist: string): string[] {
  return playlist
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The master playlist (ready), its first variant playlist and that one's segment URLs. */
async function hlsOf(relPath: string) {
  const master = await (await get(`/video/stream?${q(relPath)}`)).text();
  const variantUrl = uris(master)[0] as string;
  const variant = await (await fetch(`${f.url}${variantUrl}`)).text();
  return { master, variantUrl, variant, segmentUrls: uris(variant) };
}

/** Decoded video frames of the first video stream of `input`, counted by ffprobe. */
async function countFrames(input: string, headers?: string): Promise<number> {
  const result = await run('ffprobe', [
    '-v',
    'error',
    ...(headers ? ['-headers', headers] : []),
    '-select_streams',
    'v:0',
    '-count_frames',
    '-show_entries',
    'stream=nb_read_frames',
    '-of',
    'default=nw=1:nk=1',
    input,
  ]);
  expect(result.stderr.trim()).toBe('');
  return Number(result.stdout.trim().split('\n')[0]);
}

/** ffmpeg as a player: decode every audio and video frame of `input`; stderr must stay empty. */
async function decodeAll(input: string, headers?: string): Promise<void> {
  const result = await run('ffmpeg', [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    ...(headers ? ['-headers', headers] : []),
    '-i',
    input,
    '-map',
    '0:v',
    '-map',
    '0:a?',
    '-f',
    'null',
    '-',
  ]);
  expect(result.stderr.trim(), `ffmpeg errors playing ${input}`).toBe('');
  expect(result.exitCode).toBe(0);
}

/** The stream of `relPath` plays in ffmpeg over HTTP: every frame, the source's duration. */
async function expectPlaysInFfmpeg(relPath: string, sameFrames: boolean): Promise<void> {
  const video = f.videos[relPath]!;
  const masterUrl = `${f.url}/video/stream?${q(relPath)}`;
  const bearer = `Authorization: Bearer ${f.token}\r\n`;

  // The master needs the bearer token; the URLs inside are signed, so the rest needs nothing.
  await decodeAll(masterUrl, bearer);
  const duration = await probeDuration(masterUrl, bearer);
  expect(duration).not.toBeNull();
  expect(Math.abs((duration as number) - (video.durationSec as number))).toBeLessThanOrEqual(0.1);

  // A client with no header at all, from a variant URL out of the master playlist.
  const { variantUrl } = await hlsOf(relPath);
  await decodeAll(`${f.url}${variantUrl}`);
  const frames = await countFrames(`${f.url}${variantUrl}`);
  const sourceFrames = await countFrames(video.absPath);
  if (sameFrames) expect(frames).toBe(sourceFrames);
  else expect(Math.abs(frames - sourceFrames)).toBeLessThanOrEqual(1);
}

beforeAll(async () => {
  f = await startVideoFixture([
    { relPath: H264, make: (file) => makeH264Aac(file, 6), dateTaken: '2024-03-01T10:00:00.000Z' },
    { relPath: HEVC, make: (file) => makeHevc(file, 3), dateTaken: '2024-02-01T10:00:00.000Z' },
    { relPath: TRUNCATED, make: makeTruncated, dateTaken: '2024-01-01T10:00:00.000Z' },
    { relPath: PHOTO, make: makeJpeg, mediaType: 'photo', dateTaken: '2024-04-01T10:00:00.000Z' },
    // Never asked for through the api: only the bus events below speak of it.
    { relPath: WAITING, make: (file) => makeH264Aac(file, 1), dateTaken: '2023-01-01T10:00:00.000Z' },
  ]);
}, 120_000);

afterAll(async () => {
  await f?.stop();
});

describe('POST /video/generate', () => {
  it('refuses requests that do not name an ingested video', async () => {
    const noToken = await generate({ path: H264 }, {});
    expect(noToken.status).toBe(401);
    await problemOf(noToken);

    const cases: [unknown, number, string][] = [
      [{ path: 'clips/none.mp4' }, 404, 'not-found'],
      [{ path: PHOTO }, 400, 'bad-request'],
      [{ path: '../etc/passwd' }, 400, 'invalid-path'],
      [{ path: H264, library: 'nope' }, 404, 'not-found'],
      [{ library: 'main' }, 400, 'validation'],
    ];
    for (const [body, status, kind] of cases) {
      const res = await generate(body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect((await problemOf(res)).type).toBe(`https://lumen.dev/problems/${kind}`);
    }
  });

  it('ends the truncated video failed, with its ffmpeg error, and GET /video/stream says so', async () => {
    const first = await generate({ path: TRUNCATED });
    expect(first.status).toBe(202);
    const { status, body } = await finalState(TRUNCATED);
    expect(status).toBe(200);
    expect(body.state).toBe('failed');
    expect(body.error).toMatch(/^ffprobe failed/);
    expect(body.error).toContain('moov atom not found');

    const stream = await get(`/video/stream?${q(TRUNCATED)}`);
    expect(stream.status).toBe(422);
    const problem = await problemOf(stream);
    expect(problem.type).toBe('https://lumen.dev/problems/video-unplayable');
    expect(problem.detail).toContain('moov atom not found');
    // It stays failed: asking again does not start it over.
    expect((await finalState(TRUNCATED)).body.state).toBe('failed');
  }, 90_000);
});

describe('video.status and dead letters', () => {
  it('reports what the transcoder says on the bus (the api subscribes at start)', async () => {
    const { contentHash } = f.videos[WAITING]!;
    const at = new Date().toISOString();
    await f.t.bus.publish('video.status', { kind: 'hls', contentHash, state: 'running', at });
    const running = await waitFor(async () => {
      const res = await generate({ path: WAITING });
      const body = (await res.json()) as VideoStatus;
      return res.status === 202 && body.state === 'running' ? body : undefined;
    }, 'running from the event');
    expect(running).toEqual({ state: 'running' });

    await f.t.bus.publish('dlq.video.hls', {
      subject: 'video.hls',
      data: {
        contentHash,
        sourcePath: f.videos[WAITING]!.absPath,
        library: 'main',
        relPath: WAITING,
        requestedAt: at,
      },
      attempts: 3,
      error: 'killed for memory on every attempt',
    });
    const failed = await waitFor(async () => {
      const res = await generate({ path: WAITING });
      const body = (await res.json()) as VideoStatus;
      return res.status === 200 ? body : undefined;
    }, 'failed from the dead letter');
    expect(failed).toEqual({ state: 'failed', error: 'killed for memory on every attempt' });
  });
});

describe('GET /video/stream', () => {
  it('answers the master playlist at once (segments are made when fetched); the whole stream follows', async () => {
    const res = await get(`/video/stream?${q(H264)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(PLAYLIST_TYPE);
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    const master = await res.text();
    expect(master.startsWith('#EXTM3U')).toBe(true);
    const hex = f.videos[H264]!.hex;
    for (const uri of uris(master)) {
      expect(uri).toMatch(
        new RegExp(`^/video/hls/${hex}/v[0-9]/index\\.m3u8\\?exp=[0-9]+&sig=[A-Za-z0-9_-]{43}$`),
      );
    }
    expect((await get(`/video/stream?${q(H264)}`, {})).status).toBe(401);

    // The whole-stream job was enqueued too, in the background: it ends ready.
    const ready = await finalState(H264);
    expect(ready).toEqual({
      status: 200,
      body: { state: 'ready', stream_url: `/video/stream?path=${encodeURIComponent(H264)}&library=1` },
    });
  }, 90_000);

  it('plays the remuxed H.264+AAC stream in ffmpeg over HTTP: every frame, the source duration', async () => {
    await expectPlaysInFfmpeg(H264, true);
  }, 90_000);

  it('plays the transcoded HEVC stream in ffmpeg over HTTP at once, its segments made on demand', async () => {
    const first = await get(`/video/stream?${q(HEVC)}`);
    expect(first.status).toBe(200);
    await expectPlaysInFfmpeg(HEVC, false);
  }, 120_000);
});

describe('GET /video/hls/<hex>/<file> (signed URLs)', () => {
  it('serves variant playlists, rewritten with the same signature, and segments, without a bearer token', async () => {
    const { variantUrl, variant, segmentUrls } = await hlsOf(H264);
    const hex = f.videos[H264]!.hex;
    const signature = variantUrl.slice(variantUrl.indexOf('?'));
    expect(variant).toContain('#EXT-X-ENDLIST');
    expect(segmentUrls.length).toBeGreaterThan(1);
    for (const url of segmentUrls) {
      expect(url).toMatch(new RegExp(`^/video/hls/${hex}/v0/seg[0-9]{5}\\.ts\\?`));
      expect(url.endsWith(signature)).toBe(true);
    }

    const playlist = await fetch(`${f.url}${variantUrl}`);
    expect(playlist.headers.get('content-type')).toBe(PLAYLIST_TYPE);
    expect(playlist.headers.get('cache-control')).toMatch(/^private, max-age=[0-9]+$/);
    const segment = await fetch(`${f.url}${segmentUrls[0]}`);
    expect(segment.status).toBe(200);
    expect(segment.headers.get('content-type')).toBe('video/mp2t');
    expect(segment.headers.get('cache-control')).toMatch(/^private, max-age=[0-9]+$/);
    const bytes = Buffer.from(await segment.arrayBuffer());
    expect(bytes[0]).toBe(0x47); // MPEG-TS sync byte
    expect(bytes.length % 188).toBe(0);

    const range = await fetch(`${f.url}${segmentUrls[0]}`, { headers: { Range: 'bytes=0-187' } });
    expect(range.status).toBe(206);
    expect(Buffer.from(await range.arrayBuffer()).equals(bytes.subarray(0, 188))).toBe(true);

    // The master through the signed route, too (players may reload it).
    const master = await fetch(`${f.url}/video/hls/${hex}/master.m3u8${signature}`);
    expect(master.status).toBe(200);
    expect(uris(await master.text())).toEqual([variantUrl]);
  });

  it('refuses a missing, tampered, expired or foreign signature, and files that are not HLS files', async () => {
    const h264 = await hlsOf(H264);
    const hevc = await hlsOf(HEVC);
    const hexA = f.videos[H264]!.hex;
    const hexB = f.videos[HEVC]!.hex;
    const segmentPath = (h264.segmentUrls[0] as string).split('?')[0] as string;
    const params = new URLSearchParams((h264.segmentUrls[0] as string).split('?')[1]);
    const exp = params.get('exp') as string;
    const sig = params.get('sig') as string;
    const status = async (url: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${f.url}${url}`, { headers });
      if (res.status !== 200) await problemOf(res);
      return res.status;
    };

    // No signature: 401, with or without a bearer token (the token does not open these URLs).
    const bare = await fetch(`${f.url}${segmentPath}`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toContain('Signature');
    expect(await status(segmentPath, f.auth)).toBe(401);
    expect(await status(`${segmentPath}?exp=${exp}`)).toBe(401);
    expect(await status(`${segmentPath}?sig=${sig}`)).toBe(401);

    // Tampered: another character, another expiry.
    const tampered = sig.slice(0, 5) + (sig[5] === 'A' ? 'B' : 'A') + sig.slice(6);
    expect(await status(`${segmentPath}?exp=${exp}&sig=${tampered}`)).toBe(403);
    expect(await status(`${segmentPath}?exp=${Number(exp) + 3600}&sig=${sig}`)).toBe(403);

    // Expired: a genuine signature made eight hours ago.
    const past = new VideoUrlSigner(TEST_SECRET, () => Date.now() - 8 * 3600_000).sign('hls', hexA);
    const expired = await fetch(`${f.url}${segmentPath}?exp=${past.exp}&sig=${past.sig}`);
    expect(expired.status).toBe(403);
    expect((await problemOf(expired)).detail).toContain('expired');
    // ...while a fresh one from the same key works (the test signer is the server's scheme).
    const fresh = new VideoUrlSigner(TEST_SECRET).sign('hls', hexA);
    expect(await status(`${segmentPath}?exp=${fresh.exp}&sig=${fresh.sig}`)).toBe(200);

    // Video A's signature does not open video B, and B's does not open A.
    const bSegment = (hevc.segmentUrls[0] as string).split('?')[0] as string;
    expect(await status(`${bSegment}?exp=${exp}&sig=${sig}`)).toBe(403);
    expect(await status(`/video/hls/${hexB}/v0/index.m3u8?exp=${exp}&sig=${sig}`)).toBe(403);
    const bQuery = (hevc.variantUrl.split('?')[1] as string).toString();
    expect(await status(`${segmentPath}?${bQuery}`)).toBe(403);
    // Nor does a clip signature of the same video open its stream.
    const clip = new VideoUrlSigner(TEST_SECRET).sign('clip', hexA);
    expect(await status(`${segmentPath}?exp=${clip.exp}&sig=${clip.sig}`)).toBe(403);

    // A valid signature opens only the playlists and segments of the folder.
    const signed = `exp=${exp}&sig=${sig}`;
    expect(await status(`/video/hls/${hexA}/manifest.json?${signed}`)).toBe(404);
    expect(await status(`/video/hls/${hexA}/v0/seg99999.ts?${signed}`)).toBe(404);
    expect(await status(`/video/hls/${hexA}/v0/..%2F..%2F..%2Fmaster.m3u8?${signed}`)).toBe(404);
    expect(await status(`/video/hls/${hexA}/v0/%2e%2e?${signed}`)).toBe(404);
    expect(await status(`/video/hls/${hexA}/v0/index.m3u8%00.ts?${signed}`)).toBe(404);
    expect(await status(`/video/hls/${hexA}%2F..%2F${hexB}/v0/index.m3u8?${signed}`)).toBe(403);
    expect(await status(`/video/hls/..%2F${hexA}/v0/index.m3u8?${signed}`)).toBe(403);
  }, 60_000);

  it('does not let the public prefix open anything else', async () => {
    const urls = [
      '/video/hls/%2e%2e/%2e%2e/me',
      '/video/hls/../../me',
      '/video/hls/x/../../../me',
      '/video/clip/../../libraries',
      '/video/gif/%2E%2E/%2E%2E/libraries',
      '/video/hls/a/b/c/d/me',
    ];
    for (const url of urls) {
      const res = await rawGet(url);
      expect([401, 403, 404], url).toContain(res.status);
      expect(res.body, url).not.toContain('viewer');
      expect(res.body, url).not.toContain('"root"');
    }
  });
});

describe('GET /video/wall and the preview clips', () => {
  async function wall(query = ''): Promise<WallPage> {
    const res = await get(`/video/wall${query}`);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    return (await res.json()) as WallPage;
  }

  it('lists videos newest first, asks for missing clips, and their signed clip URLs serve an MP4', async () => {
    const first = await wall();
    expect(first.total).toBe(4);
    expect(first.items.map((item) => item.path)).toEqual([H264, HEVC, TRUNCATED, WAITING]);
    expect(first.items[0]).toMatchObject({
      library: 'main',
      path: H264,
      width: 320,
      height: 240,
      stream_url: `/video/stream?path=${encodeURIComponent(H264)}&library=1`,
    });
    expect(first.items[0]?.duration_sec).toBeCloseTo(f.videos[H264]!.durationSec as number, 1);

    // The transcoder does not react to ingest in this test: the wall itself asked for the clips.
    const done = await waitFor(async () => {
      const page = await wall();
      const states = page.items.map((item) => item.clip_state);
      return states.every((s) => s === 'ready' || s === 'failed') ? page : undefined;
    }, 'every clip made or failed');
    const [h264, hevc, truncated] = done.items as [WallItem, WallItem, WallItem];
    expect(h264.clip_ready).toBe(true);
    expect(hevc.clip_ready).toBe(true);
    expect(truncated).toMatchObject({ clip_ready: false, clip_state: 'failed' });
    expect(truncated.clip_error).toContain('moov atom not found');

    const hex = f.videos[H264]!.hex;
    expect(h264.clip_url).toMatch(
      new RegExp(`^/video/clip/${hex}\\.mp4\\?exp=[0-9]+&sig=[A-Za-z0-9_-]{43}$`),
    );
    const clip = await fetch(`${f.url}${h264.clip_url}`);
    expect(clip.status).toBe(200);
    expect(clip.headers.get('content-type')).toBe('video/mp4');
    expect(clip.headers.get('accept-ranges')).toBe('bytes');
    expect(clip.headers.get('cache-control')).toMatch(/^private, max-age=[0-9]+$/);
    const bytes = Buffer.from(await clip.arrayBuffer());
    expect(bytes.toString('latin1', 4, 8)).toBe('ftyp');
    await decodeAll(`${f.url}${h264.clip_url}`);

    const part = await fetch(`${f.url}${h264.clip_url}`, { headers: { Range: 'bytes=0-99' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(0, 100))).toBe(true);

    const gif = await fetch(`${f.url}${h264.gif_url}`);
    expect(gif.status).toBe(200);
    expect(gif.headers.get('content-type')).toBe('image/gif');
    expect(Buffer.from(await gif.arrayBuffer()).toString('latin1', 0, 4)).toBe('GIF8');

    // Signed like the stream: none is 401, another video's or another kind's signature is 403.
    const clipPath = (h264.clip_url as string).split('?')[0] as string;
    const clipQuery = (h264.clip_url as string).split('?')[1] as string;
    expect((await fetch(`${f.url}${clipPath}`)).status).toBe(401);
    expect((await fetch(`${f.url}${clipPath}`, { headers: f.auth })).status).toBe(401);
    expect((await fetch(`${f.url}${(hevc.clip_url as string).split('?')[0]}?${clipQuery}`)).status).toBe(403);
    expect((await fetch(`${f.url}/video/gif/${hex}.gif?${clipQuery}`)).status).toBe(403);
    expect((await fetch(`${f.url}/video/clip/${hex}.gif?${clipQuery}`)).status).toBe(403);
    // The failed one has no clip to serve.
    expect((await fetch(`${f.url}${truncated.clip_url}`)).status).toBe(404);
  }, 120_000);

  it('pages with a cursor, filters by folder and library, and checks its parameters', async () => {
    const one = await wall('?limit=2');
    expect(one.items.map((item) => item.path)).toEqual([H264, HEVC]);
    expect(one.next_cursor).not.toBeNull();
    const two = await wall(`?limit=2&cursor=${one.next_cursor}`);
    expect(two.items.map((item) => item.path)).toEqual([TRUNCATED, WAITING]);
    expect(two.next_cursor).toBeNull();

    expect((await wall('?path=clips')).items.map((item) => item.path)).toEqual([H264, HEVC, WAITING]);
    expect((await wall('?path=broken&recursive=false')).items.map((item) => item.path)).toEqual([TRUNCATED]);
    expect((await wall('?path=&recursive=false')).items).toEqual([]);
    expect((await wall('?library=main&path=clips/')).total).toBe(3);

    for (const query of ['?cursor=garbage', '?limit=0', '?path=../x', '?recursive=maybe']) {
      const res = await get(`/video/wall${query}`);
      expect(res.status, query).toBe(400);
      expect((await problemOf(res)).type).toBe('https://lumen.dev/problems/validation');
    }
    expect((await get('/video/wall?library=nope')).status).toBe(404);
    expect((await get('/video/wall', {})).status).toBe(401);
  });

  it('serves a clip by path with the bearer token (GET /video/preview), with ranges', async () => {
    const res = await get(`/video/preview?${q(H264)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    const etag = res.headers.get('etag') as string;
    expect(etag).toBe(`"${f.videos[H264]!.hex}-clip"`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const part = await get(`/video/preview?${q(H264)}`, { ...f.auth, Range: 'bytes=10-19' });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(10, 20))).toBe(true);
    expect((await get(`/video/preview?${q(H264)}`, { ...f.auth, 'If-None-Match': etag })).status).toBe(304);

    expect((await get(`/video/preview?${q(H264)}`, {})).status).toBe(401);
    const failed = await get(`/video/preview?${q(TRUNCATED)}`);
    expect(failed.status).toBe(422);
    expect((await problemOf(failed)).detail).toContain('moov atom not found');
    expect((await get(`/video/preview?${q(PHOTO)}`)).status).toBe(400);
  });
});

describe('OpenAPI', () => {
  it('describes the video routes', () => {
    const logger = pino({ level: 'silent' });
    const app = createApp({ config: f.t.config, database: f.t.database, bus: f.t.bus, logger });
    const doc = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'Lumen', version: 'test' } });
    expect(Object.keys(doc.paths ?? {})).toEqual(
      expect.arrayContaining([
        '/video/generate',
        '/video/stream',
        '/video/hls/{hex}/{file}',
        '/video/hls/{hex}/{rendition}/{file}',
        '/video/wall',
        '/video/preview',
        '/video/clip/{name}',
        '/video/gif/{name}',
      ]),
    );
  });
});

/** A GET with the path sent exactly as written (fetch would normalize dot segments first). */
function rawGet(pathAndQuery: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(f.url);
    const req = http.get({ hostname, port, path: pathAndQuery, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}
