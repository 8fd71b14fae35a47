import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type DetectedFace,
  type DetectOptions,
  type FaceModel,
  l2Normalize,
  type ModelInfo,
  type RgbImage,
} from './face-model.ts';

/**
 * The built-in model: `@vladmandic/human` (BlazeFace detector, FaceMesh for the
 * alignment crop, HSE FaceRes for a 1024-d descriptor) on TensorFlow.js' WASM
 * backend. Everything it reads ships inside npm packages: the weights from
 * human's `models/` folder and the `.wasm` binaries from
 * `@tensorflow/tfjs-backend-wasm`, both read from disk; nothing is downloaded.
 *
 * Two quirks of the package are handled here: its `exports` map sends Node to
 * the tfjs-node build (which cannot install here), so the WASM build is
 * required by path; and its model loader fetches URLs, which Node's fetch
 * cannot do for `file://`, so a TensorFlow.js load router reads `file://`
 * model URLs (model.json and its weight shards) from disk.
 */

/** Changes whenever the weights, the preprocessing or the embedding post-processing change. */
export const HUMAN_MODEL_NAME = 'human-faceres-wasm-1';
const EMBEDDING_DIM = 1024;

// Indices into FaceMesh's 468 points (MediaPipe topology) for the five insightface-style landmarks.
const EYE_IMAGE_LEFT = [33, 133] as const; // the subject's right eye: outer and inner corner
const EYE_IMAGE_RIGHT = [362, 263] as const;
const NOSE_TIP = 1;
const MOUTH_IMAGE_LEFT = 61;
const MOUTH_IMAGE_RIGHT = 291;

/** The few parts of human's API used here (its typings come with the ESM build only). */
interface Tensor {
  shape: number[];
  data(): Promise<ArrayLike<number>>;
  dispose(): void;
}
interface Tf {
  tensor3d(values: Uint8Array, shape: [number, number, number], dtype: 'int32' | 'float32'): Tensor;
  expandDims(t: Tensor, axis: number): Tensor;
  image: { resizeBilinear(t: Tensor, size: [number, number], alignCorners: boolean): Tensor };
  tidy<T>(fn: () => T): T;
  dispose(t: Tensor | Tensor[]): void;
  getBackend(): string;
  io: {
    registerLoadRouter(router: (url: string | string[]) => unknown): void;
    getModelArtifactsForJSON(
      json: unknown,
      loadWeights: (manifest: WeightsManifestGroup[]) => Promise<[unknown[], ArrayBuffer]>,
    ): Promise<unknown>;
  };
}
interface WeightsManifestGroup {
  paths: string[];
  weights: unknown[];
}
interface GraphModel {
  inputs: { shape?: number[] }[];
  execute(input: Tensor): Tensor | Tensor[];
}
interface HumanFace {
  box: [number, number, number, number];
  score: number;
  mesh?: [number, number, number?][];
  embedding?: number[];
}
interface HumanResult {
  face: HumanFace[];
  error?: string | null;
}
interface Human {
  tf: Tf;
  models: { models: Record<string, GraphModel | null | undefined> };
  load(): Promise<void>;
  detect(input: Tensor, config?: Record<string, unknown>): Promise<HumanResult>;
}

const require = createRequire(import.meta.url);
/** human's `dist/` folder (its `main` entry sits there; the package.json is not exported). */
const humanDist = path.dirname(require.resolve('@vladmandic/human'));
const humanRoot = path.dirname(humanDist);
export const HUMAN_MODELS_DIR = path.join(humanRoot, 'models');
/** The wasm backend human itself resolves, so the binaries match its JavaScript. */
const wasmDir = path.dirname(
  createRequire(path.join(humanDist, 'human.node-wasm.js')).resolve('@tensorflow/tfjs-backend-wasm'),
);

const routedTfs = new WeakSet<object>();

/** Make `tf.loadGraphModel('file:///…/model.json')` read the model and its shards from disk. */
function registerFileLoader(tf: Tf): void {
  if (routedTfs.has(tf.io)) return;
  routedTfs.add(tf.io);
  tf.io.registerLoadRouter((url) => {
    if (typeof url !== 'string' || !url.startsWith('file://')) return null;
    const file = fileURLToPath(url);
    return {
      load: async () => {
        const json = JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
        return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
          const specs: unknown[] = [];
          const shards: Buffer[] = [];
          for (const group of manifest) {
            for (const shard of group.paths)
              shards.push(await fs.readFile(path.join(path.dirname(file), shard)));
            specs.push(...group.weights);
          }
          const all = Buffer.concat(shards);
          return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer];
        });
      },
    };
  });
}

function humanConfig(opts: DetectOptions): Record<string, unknown> {
  return {
    face: {
      detector: {
        maxDetected: opts.maxFaces,
        // The detector's own threshold gates the candidates; minScore is applied to the final score below.
        minConfidence: Math.min(0.2, opts.minScore),
      },
    },
  };
}

export class HumanFaceModel implements FaceModel {
  readonly info: ModelInfo = { model: HUMAN_MODEL_NAME, embeddingDim: EMBEDDING_DIM, normalized: true };
  private human: Human | undefined;
  private loading: Promise<void> | undefined;

  /** Load once; later calls (a second server over the same model) share the first load. */
  load(): Promise<void> {
    this.loading ??= this.loadOnce();
    return this.loading;
  }

  private async loadOnce(): Promise<void> {
    const { Human } = require(path.join(humanDist, 'human.node-wasm.js')) as {
      Human: new (config: Record<string, unknown>) => Human;
    };
    const human = new Human({
      backend: 'wasm',
      wasmPath: `${wasmDir}${path.sep}`,
      wasmPlatformFetch: false,
      modelBasePath: `${pathToFileURL(HUMAN_MODELS_DIR).href}/`,
      cacheModels: false,
      // Results of one image must never leak into the next.
      cacheSensitivity: 0,
      warmup: 'none',
      debug: false,
      face: {
        enabled: true,
        detector: { modelPath: 'blazeface.json', rotation: true, return: false, skipFrames: 0, skipTime: 0 },
        mesh: { enabled: true, modelPath: 'facemesh.json' },
        iris: { enabled: false },
        description: { enabled: true, modelPath: 'faceres.json', skipFrames: 0, skipTime: 0 },
        emotion: { enabled: false },
        antispoof: { enabled: false },
        liveness: { enabled: false },
        attention: { enabled: false },
        gear: { enabled: false },
      },
      body: { enabled: false },
      hand: { enabled: false },
      object: { enabled: false },
      gesture: { enabled: false },
      segmentation: { enabled: false },
    });
    registerFileLoader(human.tf);
    await human.load();
    for (const name of ['blazeface', 'facemesh', 'faceres']) {
      if (!human.models.models[name])
        throw new Error(`human could not load its ${name} model from ${HUMAN_MODELS_DIR}`);
    }
    this.human = human;
  }

  /** The backend TensorFlow.js runs on (`wasm`), for logs. */
  backend(): string {
    return this.loaded().tf.getBackend();
  }

  async detect(image: RgbImage, opts: DetectOptions): Promise<DetectedFace[]> {
    const human = this.loaded();
    const input = human.tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
    let result: HumanResult;
    try {
      result = await human.detect(input, humanConfig(opts));
    } finally {
      input.dispose();
    }
    if (result.error) throw new Error(`human.detect: ${result.error}`);
    const faces: DetectedFace[] = [];
    for (const face of result.face) {
      if (!(face.score >= opts.minScore) || !face.embedding || face.embedding.length !== EMBEDDING_DIM)
        continue;
      const [x, y, w, h] = face.box;
      const box = {
        x1: clamp(x, 0, image.width),
        y1: clamp(y, 0, image.height),
        x2: clamp(x + w, 0, image.width),
        y2: clamp(y + h, 0, image.height),
      };
      if (box.x2 <= box.x1 || box.y2 <= box.y1) continue;
      const out: DetectedFace = { box, score: face.score, embedding: l2Normalize(face.embedding) };
      const landmarks = fivePoints(face.mesh);
      if (landmarks) out.landmarks = landmarks;
      faces.push(out);
    }
    faces.sort((a, b) => b.score - a.score);
    return faces.slice(0, opts.maxFaces);
  }

  async embed(image: RgbImage): Promise<{ embedding: Float32Array; aligned: boolean }> {
    const [face] = await this.detect(image, { minScore: 0.2, maxFaces: 1 });
    if (face) return { embedding: face.embedding, aligned: true };
    return { embedding: await this.embedWhole(image), aligned: false };
  }

  /** The description model on the whole crop, resized to its input, as human feeds it a face crop. */
  private async embedWhole(image: RgbImage): Promise<Float32Array> {
    const human = this.loaded();
    const tf = human.tf;
    const model = human.models.models.faceres;
    const shape = model?.inputs[0]?.shape;
    if (!model || !shape) throw new Error('the faceres model is not loaded');
    const size: [number, number] = [shape[1] ?? 224, shape[2] ?? 224];
    const input = tf.tidy(() =>
      tf.image.resizeBilinear(
        tf.expandDims(tf.tensor3d(image.data, [image.height, image.width, 3], 'float32'), 0),
        size,
        false,
      ),
    );
    let outputs: Tensor[] = [];
    try {
      const out = model.execute(input);
      outputs = Array.isArray(out) ? out : [out];
      const descriptor = outputs.find((t) => t.shape[1] === EMBEDDING_DIM);
      if (!descriptor) throw new Error('the faceres model gave no descriptor');
      return l2Normalize(await descriptor.data());
    } finally {
      input.dispose();
      tf.dispose(outputs);
    }
  }

  private loaded(): Human {
    if (!this.human) throw new Error('the model is not loaded yet');
    return this.human;
  }
}

function clamp(v: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, v));
}

function fivePoints(mesh: HumanFace['mesh']): [number, number][] | undefined {
  if (!mesh || mesh.length < 468) return undefined;
  const at = (i: number): [number, number] => {
    const p = mesh[i];
    return [p?.[0] ?? 0, p?.[1] ?? 0];
  };
  const mid = (a: number, b: number): [number, number] => {
    const [ax, ay] = at(a);
    const [bx, by] = at(b);
    return [(ax + bx) / 2, (ay + by) / 2];
  };
  return [
    mid(...EYE_IMAGE_LEFT),
    mid(...EYE_IMAGE_RIGHT),
    at(NOSE_TIP),
    at(MOUTH_IMAGE_LEFT),
    at(MOUTH_IMAGE_RIGHT),
  ];
}
