/**
 * Built-in face detection throughput: the face-inference service over loopback HTTP (a child
 * process, as `pnpm start` runs it with FACE_INFERENCE=builtin) against the bare model call in this
 * process, on the same real photos in the same run.
 *
 *   LUMEN_BENCH_FACES_REPEAT=1 pnpm bench face-detect    # each photo once per pass (default 3)
 *   LUMEN_BENCH_FACES_ROUNDS=1 pnpm bench face-detect    # fewer rounds (default 3)
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeUpright, HumanFaceModel, type RgbImage, spawnFaceInference } from '@lumen/face-inference';
import { type BenchContext, type Benchmark, type BenchRow, positiveInt, row } from '../benchmark.ts';
import { createBenchLogger } from '../fixtures/bench-logger.ts';
import { median, percentile } from '../stats.ts';
import { forEachConcurrently } from '../task-pool.ts';

const REPEAT = positiveInt('LUMEN_BENCH_FACES_REPEAT', 3);
const ROUNDS = positiveInt('LUMEN_BENCH_FACES_ROUNDS', 3);
/** Requests in flight against the service (it runs one at a time; the next one's upload and decode overlap). */
const CLIENT_CONCURRENCY = 2;
const OPTIONS = { minScore: 0.5, maxFaces: 20 };

const photoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/corpus/photo');
/** Real photos: five with one face, one with two, two without (the face-inference tests' and docs' set). */
const PHOTOS = [
  'mei__Canon_EOS_7D.jpg',
  'exifr__issue-fast-exif-2.jpg',
  'exif-samples__xmp_no_exif.jpg',
  'mei__Samsung_GT-I9000.jpg',
  'exif-samples__Konica_Minolta_DiMAGE_Z3.jpg',
  'exifr__iptc-agency-photographer-example.jpg',
  'exif-samples__orientation_landscape_1.jpg',
  'bep-imagemeta__sunrise.webp',
];

interface Pass {
  imagesPerSecond: number;
  latenciesMs: number[];
  faces: number;
}

/**
 * POST the photo on a new loopback connection. This process blocks its event loop for seconds in
 * the bare passes, so a kept-alive socket can be reused just as the service's keep-alive timer
 * closes it ("other side closed"); a fresh connection costs well under a millisecond here.
 */
function postImage(url: string, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'image/jpeg', 'content-length': bytes.length },
        timeout: 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200) resolve(text);
          else reject(new Error(`detect answered ${res.statusCode}: ${text}`));
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('detect timed out after 60 s')));
    req.on('error', reject);
    req.end(bytes);
  });
}

async function servicePass(url: string, photos: Buffer[], concurrency = CLIENT_CONCURRENCY): Promise<Pass> {
  const latenciesMs: number[] = [];
  let faces = 0;
  const started = performance.now();
  await forEachConcurrently(photos, concurrency, async (bytes) => {
    const t = performance.now();
    const answer = await postImage(
      `${url}/v1/faces/detect?minScore=${OPTIONS.minScore}&maxFaces=${OPTIONS.maxFaces}`,
      bytes,
    );
    faces += (JSON.parse(answer) as { faces: unknown[] }).faces.length;
    latenciesMs.push(performance.now() - t);
  });
  return { imagesPerSecond: photos.length / ((performance.now() - started) / 1000), latenciesMs, faces };
}

async function barePass(model: HumanFaceModel, images: RgbImage[]): Promise<Pass> {
  const latenciesMs: number[] = [];
  let faces = 0;
  const started = performance.now();
  for (const image of images) {
    const t = performance.now();
    faces += (await model.detect(image, OPTIONS)).length;
    latenciesMs.push(performance.now() - t);
  }
  return { imagesPerSecond: images.length / ((performance.now() - started) / 1000), latenciesMs, faces };
}

async function waitHealthy(url: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/healthz`).catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the face-inference service did not load its model within 120 s');
}

const benchmark: Benchmark = {
  title: 'Built-in face detection',
  description:
    `POST /v1/faces/detect of the built-in service (apps/face-inference: @vladmandic/human BlazeFace + FaceMesh + FaceRes on TensorFlow.js WASM) ` +
    `running as a child process on loopback, as \`pnpm start\` runs it with FACE_INFERENCE=builtin, ${CLIENT_CONCURRENCY} requests in flight, then one at a time; ` +
    `each request carries the encoded photo (sharp decode with EXIF rotation, detection, embeddings, JSON with base64 embeddings). ` +
    `Baseline in the same run: the bare model call in the bench process (HumanFaceModel.detect = human.detect on the same photos decoded to RGB beforehand), one at a time. ` +
    `${PHOTOS.length} real corpus photos (100x70 to 1488x2240 px; 7 faces), each ${REPEAT} times per pass; ${ROUNDS} rounds alternating which goes first; median per-round values. ` +
    `Ratio = service / bare call.`,
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const logger = createBenchLogger('face-detect');
    const encoded = await Promise.all(PHOTOS.map((p) => readFile(path.join(photoDir, p))));
    const photos = Array.from({ length: REPEAT }, () => encoded).flat();
    const decoded = await Promise.all(
      encoded.map((b) => decodeUpright(b, { maxSide: 2048, timeoutSeconds: 30 })),
    );
    const images = Array.from({ length: REPEAT }, () => decoded.map((d) => d.image)).flat();

    const model = new HumanFaceModel();
    await model.load();
    const child = await spawnFaceInference({ logger, env: { LOG_LEVEL: 'warn' } });
    try {
      await waitHealthy(child.url);
      // Warm-up: one pass of each, not measured.
      await servicePass(child.url, encoded);
      await barePass(
        model,
        decoded.map((d) => d.image),
      );
      const service: Pass[] = [];
      const sequential: Pass[] = [];
      const bare: Pass[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const runService = async () => {
          service.push(await servicePass(child.url, photos));
          sequential.push(await servicePass(child.url, photos, 1));
        };
        if (round % 2 === 0) {
          await runService();
          bare.push(await barePass(model, images));
        } else {
          bare.push(await barePass(model, images));
          await runService();
        }
        const s = service.at(-1) as Pass;
        const q = sequential.at(-1) as Pass;
        const b = bare.at(-1) as Pass;
        ctx.log(
          `round ${round + 1}: service ${s.imagesPerSecond.toFixed(2)} images/s (${s.faces} faces), ` +
            `one at a time ${q.imagesPerSecond.toFixed(2)} images/s, bare ${b.imagesPerSecond.toFixed(2)} images/s (${b.faces} faces)`,
        );
        for (const p of [s, q]) {
          if (p.faces !== b.faces)
            throw new Error(`the service found ${p.faces} faces, the bare call ${b.faces}`);
        }
      }
      const name = 'built-in face service over HTTP';
      const baseline =
        'bare HumanFaceModel.detect (human.detect), same photos decoded beforehand, one at a time';
      return [
        row({
          name,
          metric: `throughput, ${CLIENT_CONCURRENCY} requests in flight, ${PHOTOS.length} photos x ${REPEAT}`,
          value: median(service.map((p) => p.imagesPerSecond)),
          unit: 'images/s',
          baseline,
          baselineValue: median(bare.map((p) => p.imagesPerSecond)),
          note: 'higher is better; the service runs one image at a time, the second request waits (its upload and decode overlap)',
        }),
        row({
          name,
          metric: `throughput, one request at a time, ${PHOTOS.length} photos x ${REPEAT}`,
          value: median(sequential.map((p) => p.imagesPerSecond)),
          unit: 'images/s',
          baseline,
          baselineValue: median(bare.map((p) => p.imagesPerSecond)),
          note: 'higher is better; what HTTP, decoding and JSON cost when nothing overlaps',
        }),
        row({
          name,
          metric: 'p50 latency per image, one request at a time',
          value: median(sequential.map((p) => percentile(p.latenciesMs, 50))),
          unit: 'ms',
          baseline,
          baselineValue: median(bare.map((p) => percentile(p.latenciesMs, 50))),
          note: 'lower is better',
        }),
      ];
    } finally {
      await child.stop();
    }
  },
};

export default benchmark;
