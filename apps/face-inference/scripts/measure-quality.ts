/**
 * Measures the built-in model on the corpus (docs/faces-builtin.md): which photos it finds faces
 * in, and cosine similarities of same-person pairs (each face photo against altered copies of
 * itself: smaller, cropped, mirrored, recompressed, darker, tilted, grey) and different-person
 * pairs (faces of different photos). Prints markdown.
 *
 *   pnpm --filter @lumen/face-inference exec tsx scripts/measure-quality.ts
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { DetectedFace } from '../src/face-model.ts';
import { HumanFaceModel } from '../src/human-model.ts';
import { decodeUpright } from '../src/image-decode.ts';

const photoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/corpus/photo');

/** The photos with faces, as seen by eye; each face a different person. */
const FACE_PHOTOS: Record<string, number> = {
  'mei__Canon_EOS_7D.jpg': 1, // woman, studio portrait
  'exifr__issue-fast-exif-2.jpg': 2, // two young men
  'exif-samples__xmp_no_exif.jpg': 1, // film poster, a man full length
  'mei__Samsung_GT-I9000.jpg': 1, // man at a train window, three-quarter profile
  'exif-samples__Konica_Minolta_DiMAGE_Z3.jpg': 1, // woman at a desk, 70x100 px thumbnail
  'exifr__iptc-agency-photographer-example.jpg': 1, // Lincoln Memorial statue (a face, not a person)
};

const model = new HumanFaceModel();
const opts = { minScore: Number(process.env.MIN_SCORE ?? 0.5), maxFaces: 20 };
const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);

async function facesOf(
  bytes: Buffer,
): Promise<{ faces: DetectedFace[]; width: number; height: number; ms: number }> {
  const decoded = await decodeUpright(bytes, { maxSide: 2048, timeoutSeconds: 30 });
  const t = performance.now();
  const faces = await model.detect(decoded.image, opts);
  return { faces, width: decoded.image.width, height: decoded.image.height, ms: performance.now() - t };
}

const center = (f: DetectedFace) => [(f.box.x1 + f.box.x2) / 2, (f.box.y1 + f.box.y2) / 2] as const;

type Variant = {
  name: string;
  make: (b: Buffer, w: number, h: number) => Promise<Buffer>;
  map: (x: number, y: number, w: number, h: number) => [number, number];
};
const VARIANTS: Variant[] = [
  {
    name: 'half size',
    make: (b, w) =>
      sharp(b)
        .resize(Math.round(w / 2))
        .jpeg()
        .toBuffer(),
    map: (x, y) => [x / 2, y / 2],
  },
  {
    name: 'crop 80% (top-left)',
    make: (b, w, h) =>
      sharp(b)
        .extract({ left: 0, top: 0, width: Math.round(w * 0.8), height: Math.round(h * 0.8) })
        .jpeg()
        .toBuffer(),
    map: (x, y) => [x, y],
  },
  { name: 'mirrored', make: (b) => sharp(b).flop().jpeg().toBuffer(), map: (x, y, w) => [w - x, y] },
  { name: 'JPEG q=30', make: (b) => sharp(b).jpeg({ quality: 30 }).toBuffer(), map: (x, y) => [x, y] },
  { name: 'darker (x0.6)', make: (b) => sharp(b).linear(0.6, 0).jpeg().toBuffer(), map: (x, y) => [x, y] },
  { name: 'grey', make: (b) => sharp(b).greyscale().jpeg().toBuffer(), map: (x, y) => [x, y] },
  {
    name: 'tilted 12 deg',
    make: (b) => sharp(b).rotate(12, { background: '#808080' }).jpeg().toBuffer(),
    map: (x, y, w, h) => {
      const a = (12 * Math.PI) / 180;
      const W = Math.abs(w * Math.cos(a)) + Math.abs(h * Math.sin(a));
      const H = Math.abs(w * Math.sin(a)) + Math.abs(h * Math.cos(a));
      const dx = x - w / 2;
      const dy = y - h / 2;
      return [W / 2 + dx * Math.cos(a) - dy * Math.sin(a), H / 2 + dx * Math.sin(a) + dy * Math.cos(a)];
    },
  },
];

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))] as number;
  return {
    n: s.length,
    min: s[0] as number,
    p05: q(0.05),
    median: q(0.5),
    p95: q(0.95),
    max: s[s.length - 1] as number,
  };
}
const f3 = (v: number) => v.toFixed(3);

await model.load();
const files = (await fs.readdir(photoDir)).sort();

// 1. Detection over the whole corpus.
console.log('## Detection on every decodable corpus photo\n');
console.log('| photo | expected faces | found | scores | ms |');
console.log('|---|---:|---:|---|---:|');
let undecodable = 0;
let noFaceTotal = 0;
let noFaceWrong = 0;
for (const file of files) {
  let r: Awaited<ReturnType<typeof facesOf>>;
  try {
    r = await facesOf(await fs.readFile(path.join(photoDir, file)));
  } catch {
    undecodable++;
    continue;
  }
  const expected = FACE_PHOTOS[file] ?? 0;
  if (expected === 0) {
    noFaceTotal++;
    if (r.faces.length > 0) noFaceWrong++;
  }
  if (expected > 0 || r.faces.length > 0) {
    console.log(
      `| ${file} | ${expected} | ${r.faces.length} | ${r.faces.map((f) => f.score.toFixed(2)).join(', ')} | ${Math.round(r.ms)} |`,
    );
  }
}
console.log(
  `\nminScore ${opts.minScore}. Photos without faces (by eye): ${noFaceTotal}, with a face reported: ${noFaceWrong}; not decodable by sharp here: ${undecodable}.\n`,
);

// 2. Same-person and different-person cosine similarities.
interface Identity {
  id: string;
  embeddings: { variant: string; e: Float32Array }[];
}
const identities: Identity[] = [];
const misses: string[] = [];
for (const [file, count] of Object.entries(FACE_PHOTOS)) {
  const bytes = await fs.readFile(path.join(photoDir, file));
  const base = await facesOf(bytes);
  const upright = await sharp(bytes).rotate().toBuffer();
  const meta = await sharp(upright).metadata();
  const w = meta.width as number;
  const h = meta.height as number;
  const ids = base.faces.slice(0, count).map((f, i) => ({
    face: f,
    identity: { id: `${file}#${i}`, embeddings: [{ variant: 'original', e: f.embedding }] },
  }));
  for (const v of VARIANTS) {
    const altered = await v.make(upright, w, h);
    const r = await facesOf(altered);
    const sx = r.width / (await sharp(altered).metadata()).width!;
    for (const { face, identity } of ids) {
      const [cx, cy] = center(face);
      const [mx, my] = v.map(cx, cy, w, h);
      const size = face.box.x2 - face.box.x1;
      // The face nearest to where this one went, if near enough (the two men stand close together).
      const dist = (f: DetectedFace) => Math.hypot(center(f)[0] / sx - mx, center(f)[1] / sx - my);
      const match = [...r.faces].sort((a, b) => dist(a) - dist(b)).find((f) => dist(f) < size * 0.3);
      if (match) identity.embeddings.push({ variant: v.name, e: match.embedding });
      else misses.push(`${identity.id} ${v.name}`);
    }
  }
  identities.push(...ids.map((x) => x.identity));
}

const same: number[] = [];
const sameByVariant = new Map<string, number[]>();
for (const id of identities) {
  const [orig, ...rest] = id.embeddings;
  for (const r of rest) {
    const c = cos(orig!.e, r.e);
    same.push(c);
    sameByVariant.set(r.variant, [...(sameByVariant.get(r.variant) ?? []), c]);
  }
}
const diff: number[] = [];
const diffOriginals: number[] = [];
for (let i = 0; i < identities.length; i++) {
  for (let j = i + 1; j < identities.length; j++) {
    for (const a of identities[i]!.embeddings)
      for (const b of identities[j]!.embeddings) diff.push(cos(a.e, b.e));
    diffOriginals.push(cos(identities[i]!.embeddings[0]!.e, identities[j]!.embeddings[0]!.e));
  }
}

console.log('## Cosine similarity\n');
console.log(
  `${identities.length} faces; ${VARIANTS.length} alterations each; faces not found again in an alteration: ${misses.length ? misses.join('; ') : 'none'}.\n`,
);
console.log('| pairs | n | min | p05 | median | p95 | max |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
const row = (name: string, xs: number[]) => {
  const s = stats(xs);
  console.log(
    `| ${name} | ${s.n} | ${f3(s.min)} | ${f3(s.p05)} | ${f3(s.median)} | ${f3(s.p95)} | ${f3(s.max)} |`,
  );
};
row('same face, original vs altered (all)', same);
for (const [name, xs] of sameByVariant) row(`  same face: ${name}`, xs);
row('different people, originals', diffOriginals);
row('different people, all copies', diff);

// Separation: the threshold with the fewest errors on these pairs.
let best = { t: 0, errors: Number.POSITIVE_INFINITY, fa: 0, fr: 0 };
for (let step = 0; step <= 200; step++) {
  const t = step / 200;
  const fr = same.filter((c) => c < t).length;
  const fa = diff.filter((c) => c >= t).length;
  if (fr + fa < best.errors) best = { t, errors: fr + fa, fa, fr };
}
console.log(
  `\nFewest errors at cosine >= ${best.t.toFixed(3)}: ${best.fr}/${same.length} same-face pairs below, ${best.fa}/${diff.length} different-people pairs at or above.`,
);
console.log(
  `Highest different-people cosine: ${f3(Math.max(...diff))}; lowest same-face cosine: ${f3(Math.min(...same))}.`,
);
