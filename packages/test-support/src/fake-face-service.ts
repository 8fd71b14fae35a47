import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { embeddingToBase64, normalizeEmbedding } from '@lumen/core';
import sharp, { type OutputInfo } from 'sharp';

/**
 * A small real HTTP server that speaks the face-inference contract (docs/faces.md)
 * deterministically, for the watcher's and the api's tests. It decodes what it gets with sharp (EXIF
 * rotation applied) and "detects" faces in the pixels: a face is a solid, saturated, roughly square
 * patch on a light background (what `faceTestImage` draws). A patch's colour is its identity: two
 * patches of one colour give embeddings with cosine ~0.9, of two colours ~0. The noise of each
 * embedding comes from a hash of the decoded pixels, so the same picture gives the same answer and a
 * different picture of "the same person" a slightly different one. Real photos mostly hold no such
 * patch (no faces); nothing is random.
 */

export const FAKE_FACE_MODEL = 'lumen-fake-squares-1';
export const FAKE_FACE_DIM = 512;
/** Cosine of two faces of one identity is about 1 / (1 + NOISE^2) = 0.89. */
const NOISE = 0.35;
const MAX_BODY_BYTES = 25 * 1024 * 1024;
/** Decoded images are analysed at this long side at most. */
const ANALYSIS_SIDE = 256;

/** Identity colours: channel levels 0, 64, 128, 192, not all light (those are background). */
export const FAKE_FACE_PALETTE: readonly { r: number; g: number; b: number }[] = (() => {
  const levels = [0, 64, 128, 192];
  const out: { r: number; g: number; b: number }[] = [];
  for (const r of levels)
    for (const g of levels) for (const b of levels) if (Math.min(r, g, b) < 128) out.push({ r, g, b });
  return out;
})();

export interface FakeFaceRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  bytes: number;
  /** sha256 of the image bytes sent (detect and embed), hex. */
  imageSha256?: string;
  /** The status the fake answered with. */
  status: number;
}

export type FakeFaceMode = 'up' | 'loading' | 'broken';

export interface FakeFaceService {
  /** `http://127.0.0.1:<port>` (stays the same across stop/start). */
  url: string;
  requests: FakeFaceRequest[];
  /** `up` answers; `loading` answers 503 + Retry-After to everything; `broken` 500 to detect/embed. */
  mode: FakeFaceMode;
  /** Wait this long before answering (to test timeouts). */
  delayMs: number;
  /** Retry-After seconds sent in `loading` mode. */
  retryAfterSec: number;
  /** Stop listening and drop open connections (the service is down). */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  /** Image requests (detect, embed) answered 200. */
  answered(): FakeFaceRequest[];
}

export interface FakeFaceServiceOptions {
  port?: number;
  model?: string;
  dim?: number;
}

/** A face the fake finds: box in pixels of the upright image, identity index into the palette or -1. */
export interface FakeFace {
  bbox: { x1: number; y1: number; x2: number; y2: number };
  score: number;
  identity: string;
  embedding: Float32Array;
}

export async function startFakeFaceService(options: FakeFaceServiceOptions = {}): Promise<FakeFaceService> {
  const model = options.model ?? FAKE_FACE_MODEL;
  const dim = options.dim ?? FAKE_FACE_DIM;
  const sockets = new Set<Socket>();
  let server: http.Server | undefined;
  let port = options.port ?? 0;

  const service: FakeFaceService = {
    url: '',
    requests: [],
    mode: 'up',
    delayMs: 0,
    retryAfterSec: 1,
    answered: () => service.requests.filter((r) => r.status === 200 && r.path.startsWith('/v1/faces/')),
    async start() {
      if (server) return;
      const s = http.createServer((req, res) => {
        handle(req, res).catch((err: unknown) => {
          if (!res.headersSent) send(res, 500, { error: 'internal', message: String(err) });
        });
      });
      s.on('connection', (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
      port = (s.address() as AddressInfo).port;
      service.url = `http://127.0.0.1:${port}`;
      server = s;
    },
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };

  const record = (req: http.IncomingMessage, path: string, body: Buffer | undefined, status: number) => {
    service.requests.push({
      method: req.method ?? 'GET',
      path,
      contentType: req.headers['content-type'],
      bytes: body?.length ?? 0,
      ...(body && body.length > 0 ? { imageSha256: createHash('sha256').update(body).digest('hex') } : {}),
      status,
    });
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    let body: Buffer | undefined;
    if (req.method === 'POST') {
      body = await readBody(req);
      if (body === undefined) {
        record(req, path, undefined, 413);
        return send(res, 413, { error: 'too_large', message: `more than ${MAX_BODY_BYTES} bytes` });
      }
    }
    if (service.delayMs > 0) await new Promise((r) => setTimeout(r, service.delayMs));
    const reply = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      record(req, path, body, status);
      send(res, status, json, headers);
    };
    if (service.mode === 'loading') {
      return reply(
        503,
        { error: 'loading', message: 'models loading' },
        { 'retry-after': String(service.retryAfterSec) },
      );
    }
    if (req.method === 'GET' && path === '/healthz') return reply(200, { status: 'ok' });
    if (req.method === 'GET' && path === '/v1/info')
      return reply(200, { model, embeddingDim: dim, normalized: true });
    if (req.method === 'POST' && (path === '/v1/faces/detect' || path === '/v1/faces/embed')) {
      if (service.mode === 'broken') return reply(500, { error: 'internal', message: 'broken on purpose' });
      const image = imageOf(req, body ?? Buffer.alloc(0));
      if (!image) return reply(400, { error: 'bad_request', message: 'multipart without an image field' });
      const analysed = await analyse(image, dim);
      if (!analysed) return reply(400, { error: 'bad_image', message: 'cannot decode the image' });
      if (path === '/v1/faces/embed') {
        const largest = analysed.faces.sort((a, b) => area(b.bbox) - area(a.bbox))[0];
        const embedding =
          largest?.embedding ?? embeddingFor(`crop:${analysed.pixelHash}`, analysed.pixelHash, dim);
        return reply(200, {
          embedding: embeddingToBase64(embedding),
          embeddingDim: dim,
          aligned: largest !== undefined,
          model,
        });
      }
      const minScore = Number(url.searchParams.get('minScore') ?? '0');
      const maxFaces = Number(url.searchParams.get('maxFaces') ?? '50');
      if (
        !Number.isFinite(minScore) ||
        minScore < 0 ||
        minScore > 1 ||
        !Number.isInteger(maxFaces) ||
        maxFaces < 1
      ) {
        return reply(400, { error: 'bad_request', message: 'minScore or maxFaces out of range' });
      }
      const faces = analysed.faces
        .filter((f) => f.score >= minScore && area(f.bbox) <= 0.5 * analysed.width * analysed.height)
        .slice(0, maxFaces);
      return reply(200, {
        model,
        imageWidth: analysed.width,
        imageHeight: analysed.height,
        faces: faces.map((f) => ({
          bbox: f.bbox,
          score: f.score,
          embedding: embeddingToBase64(f.embedding),
        })),
      });
    }
    return reply(404, { error: 'not_found', message: path });
  }

  await service.start();
  return service;
}

function send(
  res: http.ServerResponse,
  status: number,
  json: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(json));
}

async function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}

/** The image of a raw body, or of the `image` part of a multipart body. */
function imageOf(req: http.IncomingMessage, body: Buffer): Buffer | undefined {
  const type = req.headers['content-type'] ?? '';
  const boundary = /multipart\/form-data;.*boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!boundary) return body;
  const delimiter = Buffer.from(`--${boundary}`);
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next === -1) break;
    const part = body.subarray(start + delimiter.length + 2, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, headerEnd).toString('utf8');
    if (/name="image"/i.test(headers)) return part.subarray(headerEnd + 4);
    start = next;
  }
  return undefined;
}

const area = (b: { x1: number; y1: number; x2: number; y2: number }) => (b.x2 - b.x1) * (b.y2 - b.y1);

/** A seeded standard-normal vector (sha256 counter stream, Box-Muller). */
function gaussian(seed: string, dim: number): Float32Array {
  const out = new Float32Array(dim);
  let block = Buffer.alloc(0);
  let counter = 0;
  let offset = 0;
  const uniform = () => {
    if (offset + 4 > block.length) {
      block = createHash('sha256').update(`${seed}#${counter++}`).digest();
      offset = 0;
    }
    const u = (block.readUInt32LE(offset) + 1) / 4294967297;
    offset += 4;
    return u;
  };
  for (let i = 0; i < dim; i++)
    out[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

function embeddingFor(identity: string, noiseSeed: string, dim: number): Float32Array {
  const base = gaussian(`identity:${identity}`, dim);
  const noise = gaussian(`noise:${noiseSeed}`, dim);
  for (let i = 0; i < dim; i++) base[i] = (base[i] ?? 0) + NOISE * (noise[i] ?? 0);
  return normalizeEmbedding(base);
}

/**
 * What the fake sees in an image: its upright size, a hash of its decoded pixels and the faces (all
 * patches, before the detect endpoint's size and score filters). Undefined when sharp cannot decode it.
 */
export async function analyse(
  image: Buffer,
  dim = FAKE_FACE_DIM,
): Promise<{ width: number; height: number; pixelHash: string; faces: FakeFace[] } | undefined> {
  let decoded: { data: Buffer; info: OutputInfo };
  let width: number;
  let height: number;
  try {
    const upright = await sharp(image, { failOn: 'error' })
      .rotate()
      .raw()
      .toBuffer({ resolveWithObject: true });
    width = upright.info.width;
    height = upright.info.height;
    decoded = await sharp(upright.data, { raw: { width, height, channels: upright.info.channels } })
      .removeAlpha()
      .resize(ANALYSIS_SIDE, ANALYSIS_SIDE, { fit: 'inside', withoutEnlargement: true, kernel: 'nearest' })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch {
    return undefined;
  }
  const { data, info } = decoded;
  const pixelHash = createHash('sha256').update(data).digest('hex');
  const w = info.width;
  const h = info.height;
  const ch = info.channels;
  const ink = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const r = data[i * ch] ?? 255;
    const g = data[i * ch + 1] ?? 255;
    const b = data[i * ch + 2] ?? 255;
    ink[i] = 255 - Math.min(r, g, b) > 80 ? 1 : 0;
  }
  const seen = new Uint8Array(w * h);
  const faces: FakeFace[] = [];
  const scaleX = width / w;
  const scaleY = height / h;
  for (let start = 0; start < w * h; start++) {
    if (!ink[start] || seen[start]) continue;
    // Flood fill one patch.
    const stack = [start];
    seen[start] = 1;
    let count = 0;
    let minX = w;
    let minY = h;
    let maxX = 0;
    let maxY = 0;
    let sr = 0;
    let sg = 0;
    let sb = 0;
    while (stack.length > 0) {
      const p = stack.pop() as number;
      const x = p % w;
      const y = (p - x) / w;
      count++;
      sr += data[p * ch] ?? 0;
      sg += data[p * ch + 1] ?? 0;
      sb += data[p * ch + 2] ?? 0;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      for (const q of [
        x > 0 ? p - 1 : -1,
        x < w - 1 ? p + 1 : -1,
        y > 0 ? p - w : -1,
        y < h - 1 ? p + w : -1,
      ]) {
        if (q >= 0 && ink[q] && !seen[q]) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    const bw = maxX - minX + 1;
    const bh = maxY - minY + 1;
    const fill = count / (bw * bh);
    const aspect = Math.min(bw, bh) / Math.max(bw, bh);
    if (count < 9 || fill < 0.7 || aspect < 0.5) continue;
    const q = (v: number) => Math.min(3, Math.max(0, Math.round(v / count / 64)));
    const identity = `${q(sr)}-${q(sg)}-${q(sb)}`;
    const index = faces.length;
    faces.push({
      bbox: {
        x1: Math.round(minX * scaleX * 10) / 10,
        y1: Math.round(minY * scaleY * 10) / 10,
        x2: Math.round((maxX + 1) * scaleX * 10) / 10,
        y2: Math.round((maxY + 1) * scaleY * 10) / 10,
      },
      score: Math.round((0.5 + fill / 2) * 1000) / 1000,
      identity,
      embedding: embeddingFor(identity, `${pixelHash}:${index}`, dim),
    });
  }
  faces.sort((a, b) => b.score - a.score || a.bbox.y1 - b.bbox.y1 || a.bbox.x1 - b.bbox.x1);
  return { width, height, pixelHash, faces };
}

export interface FaceTestImageOptions {
  width: number;
  height: number;
  /** Patches in display coordinates (pixels of the upright image): identity = index into FAKE_FACE_PALETTE. */
  faces: { identity: number; x: number; y: number; size: number }[];
  /** EXIF orientation to store (1, 3, 6 or 8): the pixels are stored turned so that it displays as given. */
  orientation?: 1 | 3 | 6 | 8;
  /** Tints the background a little: another picture (other bytes, other pixels) of the same scene. */
  variant?: number;
}

/** A JPEG the fake finds `faces` in (see startFakeFaceService). */
export async function faceTestImage(options: FaceTestImageOptions): Promise<Buffer> {
  const tint = 255 - ((options.variant ?? 0) % 24);
  const composites = options.faces.map((face) => {
    const color = FAKE_FACE_PALETTE[face.identity % FAKE_FACE_PALETTE.length] ?? { r: 0, g: 0, b: 0 };
    return {
      input: { create: { width: face.size, height: face.size, channels: 3 as const, background: color } },
      left: face.x,
      top: face.y,
    };
  });
  const upright = await sharp({
    create: {
      width: options.width,
      height: options.height,
      channels: 3,
      background: { r: tint, g: tint, b: 255 },
    },
  })
    .composite(composites)
    .png()
    .toBuffer();
  const orientation = options.orientation ?? 1;
  const turn = { 1: 0, 3: 180, 6: 270, 8: 90 }[orientation];
  return sharp(upright).rotate(turn).jpeg({ quality: 92 }).withMetadata({ orientation }).toBuffer();
}
