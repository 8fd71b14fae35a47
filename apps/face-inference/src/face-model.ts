/** An upright RGB image: `width * height * 3` bytes, row-major, no alpha. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** One detected face in the pixels of the image it was found in. */
export interface DetectedFace {
  box: { x1: number; y1: number; x2: number; y2: number };
  score: number;
  /** Five points: the image-left eye, the image-right eye, nose tip, image-left and image-right mouth corner. */
  landmarks?: [number, number][];
  /** L2-normalised when the model's `normalized` is true. */
  embedding: Float32Array;
}

export interface DetectOptions {
  minScore: number;
  maxFaces: number;
}

export interface ModelInfo {
  model: string;
  embeddingDim: number;
  normalized: boolean;
}

/**
 * What the HTTP service needs from a face model. One call at a time: the service
 * serializes calls (the built-in model keeps module state and runs on one thread).
 */
export interface FaceModel {
  readonly info: ModelInfo;
  load(): Promise<void>;
  detect(image: RgbImage, opts: DetectOptions): Promise<DetectedFace[]>;
  /** Embed a face crop: aligned on the face found in it, or (`aligned: false`) the crop as it is. */
  embed(image: RgbImage): Promise<{ embedding: Float32Array; aligned: boolean }>;
}

/** Scale a vector to unit L2 norm (a zero vector stays zero). */
export function l2Normalize(v: ArrayLike<number>): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] as number) ** 2;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(v.length);
  if (norm === 0 || !Number.isFinite(norm)) return out;
  for (let i = 0; i < v.length; i++) out[i] = (v[i] as number) / norm;
  return out;
}
