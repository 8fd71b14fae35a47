/**
 * Built-in face detection throughput: the face-inference service over loopback HTTP (a child
 * process, as `pnpm start` runs it with FACE_INFERENCE=builtin) against the bare model call in this
 * process, on the same real photos in the same run.
 *
 *   LUMEN_BENCH_FACES_REPEAT=1 pnpm bench face-detect    # each photo once per pass (default 3)
 *   LUMEN_BENCH_FACES_ROUNDS=1 pnpm bench face-detect    # fewer rounds (default 3)
 */
import { readFile } from 'node:fs/promises';
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

async function servicePass(url: string, photos: Buffer[]): Promise<Pass> {
  const latenciesMs: number[] = [];
  let faces = 0;
  const started = performance.now();
  await forEachConcurrently(photos, CLIENT_CONCURRENCY, async (bytes) => {
    const t = performance.now();
    const res = await fetch(
      `${url}/v1/faces/detect?minScore=${OPTIONS.minScore}&maxFaces=${OPTIONS.maxFaces}`,
      {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body: new Uint8Array(bytes),
        signal: AbortSignal.timeout(60_000),
      },
    );
    if (res.status !== 200) throw new Error(`detect answered ${res.status}: ${await res.text()}`);
    faces += ((await res.json()) as { faces: unknown[] }).faces.length;
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
    `running as a child process on loopback, as \`pnpm start\` runs it with FACE_INFERENCE=builtin, ${CLIENT_CONCURRENCY} requests in flight; ` +
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
      const bare: Pass[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 2 === 0) {
          service.push(await servicePass(child.url, photos));
          bare.push(await barePass(model, images));
        } else {
          bare.push(await barePass(model, images));
          service.push(await servicePass(child.url, photos));
        }
        const s = service.at(-1) as Pass;
        const b = bare.at(-1) as Pass;
        ctx.log(
          `round ${round + 1}: service ${s.imagesPerSecond.toFixed(2)} images/s (${s.faces} faces), bare ${b.imagesPerSecond.toFixed(2)} images/s (${b.faces} faces)`,
        );
        if (s.faces !== b.faces)
          throw new Error(`the service found ${s.faces} faces, the bare call ${b.faces}`);
      }
      const name = 'built-in face service over HTTP';
      const baseline = 'bare HumanFaceModel.detect (human.detect), same photos decoded beforehand';
      return [
        row({
          name,
          metric: `throughput, ${PHOTOS.length} photos x ${REPEAT}`,
          value: median(service.map((p) => p.imagesPerSecond)),
          unit: 'images/s',
          baseline,
          baselineValue: median(bare.map((p) => p.imagesPerSecond)),
          note: `higher is better; ${CLIENT_CONCURRENCY} requests in flight against one at a time`,
        }),
        row({
          name,
          metric: 'p50 latency per image',
          value: median(service.map((p) => percentile(p.latenciesMs, 50))),
          unit: 'ms',
          baseline,
          baselineValue: median(bare.map((p) => percentile(p.latenciesMs, 50))),
          note: 'lower is better; the service figure includes waiting for the request ahead',
        }),
      ];
    } finally {
      await child.stop();
    }
  },
};

export default benchmark;
