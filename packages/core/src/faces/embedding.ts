/**
 * Face embeddings: float32 vectors, stored and sent as little-endian float32 bytes (base64 on the
 * wire). Compared by cosine similarity.
 */

/** Whether this machine stores numbers little-endian (then bytes are copied, not converted). */
export const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Little-endian float32 bytes of `values`. */
export function embeddingToBytes(values: ArrayLike<number>): Buffer {
  if (LITTLE_ENDIAN) {
    const floats = Float32Array.from(values);
    return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
  }
  const out = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i] ?? 0, i * 4);
  return out;
}

/** The float32 values of little-endian bytes; throws when the length is not a multiple of 4. */
export function embeddingFromBytes(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new Error(`embedding of ${bytes.byteLength} bytes is not float32`);
  if (LITTLE_ENDIAN) return new Float32Array(Uint8Array.from(bytes).buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

export function embeddingToBase64(values: ArrayLike<number>): string {
  return embeddingToBytes(values).toString('base64');
}

/** Decodes a base64 embedding and checks its length and that every value is finite. */
export function embeddingFromBase64(text: string, expectedDim?: number): Float32Array {
  const values = embeddingFromBytes(Buffer.from(text, 'base64'));
  if (expectedDim !== undefined && values.length !== expectedDim) {
    throw new Error(`embedding has ${values.length} values, expected ${expectedDim}`);
  }
  if (values.length === 0) throw new Error('embedding is empty');
  for (const v of values) if (!Number.isFinite(v)) throw new Error('embedding holds a non-finite value');
  return values;
}

export function l2Norm(v: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] ?? 0) ** 2;
  return Math.sqrt(sum);
}

/** `v` scaled to unit length; a zero vector stays zero. */
export function normalizeEmbedding(v: ArrayLike<number>): Float32Array {
  const norm = l2Norm(v);
  const out = new Float32Array(v.length);
  if (norm === 0) return out;
  for (let i = 0; i < v.length; i++) out[i] = (v[i] ?? 0) / norm;
  return out;
}

export function isZeroEmbedding(v: ArrayLike<number>): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}

/** Cosine similarity in [-1, 1]; 0 when either vector is zero or the lengths differ. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na === 0 || nb === 0) return 0;
  return dot / Math.sqrt(na * nb);
}

/** The normalized mean of unit-normalized vectors (the direction a person's faces share); undefined for none. */
export function meanEmbedding(vectors: readonly ArrayLike<number>[]): Float32Array | undefined {
  const first = vectors[0];
  if (!first) return undefined;
  const sum = new Float32Array(first.length);
  for (const v of vectors) {
    if (v.length !== sum.length) continue;
    const unit = normalizeEmbedding(v);
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] ?? 0) + (unit[i] ?? 0);
  }
  return normalizeEmbedding(sum);
}
