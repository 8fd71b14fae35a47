import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '@lumen/core';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HumanFaceModel } from '../src/human-model.ts';
import { type FaceInferenceHandle, start } from '../src/start.ts';

// The built-in service over HTTP on real corpus photos. The model is loaded once for the file
// (one HumanFaceModel shared by every server started here).

const corpus = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/corpus');
const photo = (name: string) => fs.readFile(path.join(corpus, 'photo', name));
// Looked at by eye: one woman, head and shoulders, facing the camera.
const PORTRAIT = 'mei__Canon_EOS_7D.jpg';
// Two young men side by side, both facing the camera.
const TWO_PEOPLE = 'exifr__issue-fast-exif-2.jpg';
// No people: a waterfall in a forest, and a sunset over the sea.
const LANDSCAPES = ['exif-samples__orientation_landscape_1.jpg', 'bep-imagemeta__sunrise.webp'];

interface Face {
  bbox: { x1: number; y1: number; x2: number; y2: number };
  score: number;
  landmarks?: [number, number][];
  embedding: string;
}
interface DetectBody {
  model: string;
  imageWidth: number;
  imageHeight: number;
  faces: Face[];
}

const model = new HumanFaceModel();
const logs: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  }),
);
const handles: FaceInferenceHandle[] = [];

async function startService(env: Record<string, string> = {}, holdLoading?: Promise<void>) {
  const config = parseConfig({ FACE_INFERENCE_PORT: '0', ...env });
  const handle = await start({ config, logger, model, holdLoading });
  handles.push(handle);
  return handle;
}

function decodeEmbedding(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}
const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const cosine = (a: Float32Array, b: Float32Array) =>
  a.reduce((s, x, i) => s + x * (b[i] as number), 0) / (norm(a) * norm(b));

async function detect(url: string, body: Uint8Array, query = ''): Promise<DetectBody> {
  const res = await fetch(`${url}/v1/faces/detect${query}`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body,
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as DetectBody;
}

let url: string;
beforeAll(async () => {
  const handle = await startService();
  await handle.loaded;
  url = handle.url;
}, 120_000);

afterAll(async () => {
  await Promise.all(handles.map((h) => h.stop()));
});

describe('the built-in face service on real photos', () => {
  it('says what it computes, and is healthy once loaded', async () => {
    const info = await (await fetch(`${url}/v1/info`)).json();
    expect(info).toEqual({ model: 'human-faceres-wasm-1', embeddingDim: 1024, normalized: true });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('finds the one face of a portrait, with a unit-norm embedding of the declared size', async () => {
    const bytes = await photo(PORTRAIT);
    const meta = await sharp(bytes).metadata();
    const body = await detect(url, bytes);
    expect(body.model).toBe('human-faceres-wasm-1');
    expect([body.imageWidth, body.imageHeight]).toEqual([meta.width, meta.height]);
    expect(body.faces).toHaveLength(1);
    const [face] = body.faces as [Face];
    const { x1, y1, x2, y2 } = face.bbox;
    expect(0 <= x1 && x1 < x2 && x2 <= body.imageWidth && 0 <= y1 && y1 < y2 && y2 <= body.imageHeight).toBe(
      true,
    );
    // A head-and-shoulders portrait: the face is big, in the middle third, in the upper half.
    expect((x2 - x1) / body.imageWidth).toBeGreaterThan(0.2);
    expect((x2 - x1) / body.imageWidth).toBeLessThan(0.7);
    expect((x1 + x2) / 2 / body.imageWidth).toBeGreaterThan(1 / 3);
    expect((x1 + x2) / 2 / body.imageWidth).toBeLessThan(2 / 3);
    expect((y1 + y2) / 2 / body.imageHeight).toBeLessThan(0.5);
    expect(face.score).toBeGreaterThanOrEqual(0.5);
    // Five landmarks inside the box: eyes above the nose, the nose above the mouth corners.
    const lm = face.landmarks as [number, number][];
    expect(lm).toHaveLength(5);
    for (const [x, y] of lm) expect(x >= x1 && x <= x2 && y >= y1 && y <= y2).toBe(true);
    expect(lm[0]?.[0]).toBeLessThan(lm[1]?.[0] as number);
    expect(Math.max(lm[0]?.[1] as number, lm[1]?.[1] as number)).toBeLessThan(lm[2]?.[1] as number);
    expect(lm[2]?.[1]).toBeLessThan(Math.min(lm[3]?.[1] as number, lm[4]?.[1] as number));
    const embedding = decodeEmbedding(face.embedding);
    expect(embedding.length).toBe(1024);
    expect(Math.abs(norm(embedding) - 1)).toBeLessThan(1e-3);
  });

  it('finds both people of a two-person photo, as two distinct faces', async () => {
    const body = await detect(url, await photo(TWO_PEOPLE));
    expect(body.faces).toHaveLength(2);
    const [a, b] = body.faces as [Face, Face];
    const overlapX = Math.min(a.bbox.x2, b.bbox.x2) - Math.max(a.bbox.x1, b.bbox.x1);
    const overlapY = Math.min(a.bbox.y2, b.bbox.y2) - Math.max(a.bbox.y1, b.bbox.y1);
    const inter = Math.max(0, overlapX) * Math.max(0, overlapY);
    const area = (f: Face) => (f.bbox.x2 - f.bbox.x1) * (f.bbox.y2 - f.bbox.y1);
    expect(inter / Math.min(area(a), area(b))).toBeLessThan(0.3);
    expect(a.score).toBeGreaterThanOrEqual(b.score);
    const ea = decodeEmbedding(a.embedding);
    const eb = decodeEmbedding(b.embedding);
    for (const e of [ea, eb]) expect(Math.abs(norm(e) - 1)).toBeLessThan(1e-3);
    expect(cosine(ea, eb)).toBeLessThan(0.99);

    // maxFaces (as a multipart form field here) keeps the best one.
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(await photo(TWO_PEOPLE))], { type: 'image/jpeg' }), 'two.jpg');
    form.set('maxFaces', '1');
    const res = await fetch(`${url}/v1/faces/detect`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const one = (await res.json()) as DetectBody;
    expect(one.faces).toHaveLength(1);
    expect(one.faces[0]?.score).toBe(a.score);
  });

  it('finds no face in landscapes', async () => {
    for (const name of LANDSCAPES) {
      const body = await detect(url, await photo(name));
      expect(body.faces, name).toEqual([]);
      expect(body.imageWidth).toBeGreaterThan(0);
    }
  });

  it('reports boxes in pixels after EXIF rotation', async () => {
    const bytes = await photo(PORTRAIT);
    const upright = await detect(url, bytes);
    // Store the portrait turned 90 degrees counter-clockwise, tagged "rotate 90 CW to display" (6).
    const stored = await sharp(bytes)
      .rotate(270)
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 95 })
      .toBuffer();
    const storedMeta = await sharp(stored).metadata();
    expect([storedMeta.width, storedMeta.height]).toEqual([upright.imageHeight, upright.imageWidth]);
    const rotated = await detect(url, stored);
    expect([rotated.imageWidth, rotated.imageHeight]).toEqual([upright.imageWidth, upright.imageHeight]);
    expect(rotated.faces).toHaveLength(1);
    const a = upright.faces[0]?.bbox as Face['bbox'];
    const b = rotated.faces[0]?.bbox as Face['bbox'];
    const tolerance = 0.05 * upright.imageWidth;
    for (const k of ['x1', 'y1', 'x2', 'y2'] as const) expect(Math.abs(a[k] - b[k])).toBeLessThan(tolerance);
  });

  it('embeds a face crop close to the same face and farther from other people', async () => {
    const portrait = await detect(url, await photo(PORTRAIT));
    const others = await detect(url, await photo(TWO_PEOPLE));
    const face = portrait.faces[0] as Face;
    // The crop the api sends for a manual box: the face padded to about half of the crop.
    const w = face.bbox.x2 - face.bbox.x1;
    const h = face.bbox.y2 - face.bbox.y1;
    const left = Math.max(0, Math.round(face.bbox.x1 - w / 2));
    const top = Math.max(0, Math.round(face.bbox.y1 - h / 2));
    const crop = await sharp(await photo(PORTRAIT))
      .extract({
        left,
        top,
        width: Math.min(portrait.imageWidth - left, Math.round(2 * w)),
        height: Math.min(portrait.imageHeight - top, Math.round(2 * h)),
      })
      .jpeg()
      .toBuffer();
    const res = await fetch(`${url}/v1/faces/embed`, { method: 'POST', body: new Uint8Array(crop) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      embedding: string;
      embeddingDim: number;
      aligned: boolean;
      model: string;
    };
    expect(body.embeddingDim).toBe(1024);
    expect(body.aligned).toBe(true);
    expect(body.model).toBe('human-faceres-wasm-1');
    const e = decodeEmbedding(body.embedding);
    expect(e.length).toBe(1024);
    expect(Math.abs(norm(e) - 1)).toBeLessThan(1e-3);
    const same = cosine(e, decodeEmbedding(face.embedding));
    for (const other of others.faces)
      expect(same).toBeGreaterThan(cosine(e, decodeEmbedding(other.embedding)));

    // No face in the crop (a piece of sky): embedded as it is, and said so.
    const sky = await sharp(await photo(LANDSCAPES[1] as string))
      .extract({ left: 0, top: 0, width: 200, height: 200 })
      .png()
      .toBuffer();
    const skyRes = await fetch(`${url}/v1/faces/embed`, { method: 'POST', body: new Uint8Array(sky) });
    expect(skyRes.status).toBe(200);
    const skyBody = (await skyRes.json()) as { embedding: string; aligned: boolean };
    expect(skyBody.aligned).toBe(false);
    expect(Math.abs(norm(decodeEmbedding(skyBody.embedding)) - 1)).toBeLessThan(1e-3);
  });
});

describe('errors', () => {
  async function expectProblem(res: Response, status: number, error: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = (await res.json()) as { type: string; error: string; status: number };
    expect(body.error).toBe(error);
    expect(body.status).toBe(status);
    expect(body.type).toBe(`https://lumen.dev/problems/face-inference/${error.replaceAll('_', '-')}`);
  }

  it('answers 400 bad_image to what is not an image, and to a broken one', async () => {
    for (const [what, body] of [
      ['text', new TextEncoder().encode('this is not an image')],
      ['empty', new Uint8Array()],
      [
        'truncated jpeg',
        new Uint8Array(await fs.readFile(path.join(corpus, 'broken', 'libvips__truncated.jpg'))),
      ],
    ] as const) {
      const res = await fetch(`${url}/v1/faces/detect`, {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body,
      });
      await expectProblem(res, 400, 'bad_image').catch((err) => {
        throw new Error(`${what}: ${err}`);
      });
    }
    const embed = await fetch(`${url}/v1/faces/embed`, { method: 'POST', body: new Uint8Array([1, 2, 3]) });
    await expectProblem(embed, 400, 'bad_image');
  });

  it('answers 400 bad_request to bad options and a multipart body without an image', async () => {
    const bytes = new Uint8Array(await photo(LANDSCAPES[0] as string));
    for (const query of ['?minScore=2', '?maxFaces=0', '?maxFaces=abc']) {
      const res = await fetch(`${url}/v1/faces/detect${query}`, { method: 'POST', body: bytes });
      await expectProblem(res, 400, 'bad_request');
    }
    const form = new FormData();
    form.set('picture', new Blob([bytes]), 'x.jpg');
    await expectProblem(
      await fetch(`${url}/v1/faces/detect`, { method: 'POST', body: form }),
      400,
      'bad_request',
    );
  });

  it('answers 413 to a body over the limit, raw or multipart', async () => {
    const small = await startService({ FACE_INFERENCE_MAX_BODY_MB: '0.1' });
    await small.loaded;
    const big = new Uint8Array(await photo(PORTRAIT)); // 340 KB > 100 KiB
    expect(big.length).toBeGreaterThan(0.1 * 1024 * 1024);
    const raw = await fetch(`${small.url}/v1/faces/detect`, { method: 'POST', body: big });
    await expectProblem(raw, 413, 'too_large');
    const form = new FormData();
    form.set('image', new Blob([big], { type: 'image/jpeg' }), 'big.jpg');
    await expectProblem(
      await fetch(`${small.url}/v1/faces/embed`, { method: 'POST', body: form }),
      413,
      'too_large',
    );
    // Under the limit it still works.
    const ok = await fetch(`${small.url}/v1/faces/detect`, {
      method: 'POST',
      body: new Uint8Array(await photo(LANDSCAPES[1] as string)),
    });
    expect(ok.status).toBe(200);
  });

  it('answers 503 + Retry-After while the model loads, then serves', async () => {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const loading = await startService({}, hold);
    const bytes = new Uint8Array(await photo(PORTRAIT));
    const health = await fetch(`${loading.url}/healthz`);
    expect(Number(health.headers.get('retry-after'))).toBeGreaterThan(0);
    await expectProblem(health, 503, 'loading');
    for (const route of ['detect', 'embed']) {
      const res = await fetch(`${loading.url}/v1/faces/${route}`, { method: 'POST', body: bytes });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      await expectProblem(res, 503, 'loading');
    }
    release();
    await loading.loaded;
    expect((await fetch(`${loading.url}/healthz`)).status).toBe(200);
    const body = await detect(loading.url, bytes);
    expect(body.faces).toHaveLength(1);
  });

  it('answers 503 busy + Retry-After to requests that wait for the model longer than the queue timeout', async () => {
    const short = await startService({ FACE_INFERENCE_QUEUE_TIMEOUT_SEC: '0.05' });
    await short.loaded;
    const bytes = new Uint8Array(await photo(PORTRAIT));
    // One image at a time, each well over 50 ms of model time: of 8 sent at once, those queued
    // behind another wait longer than the 50 ms queue timeout.
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => fetch(`${short.url}/v1/faces/detect`, { method: 'POST', body: bytes })),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses).toContain(200);
    expect(statuses).toContain(503);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    const busy = answers.find((r) => r.status === 503) as Response;
    expect(Number(busy.headers.get('retry-after'))).toBeGreaterThan(0);
    await expectProblem(busy, 503, 'busy');
    // The model is free again afterwards.
    expect((await detect(short.url, bytes)).faces).toHaveLength(1);
  });

  it('logs one line per request', () => {
    const lines = logs.filter((l) => l.msg === 'request' && l.path === '/v1/faces/detect');
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.some((l) => l.status === 413)).toBe(true);
    expect(lines.every((l) => typeof l.ms === 'number')).toBe(true);
  });
});
