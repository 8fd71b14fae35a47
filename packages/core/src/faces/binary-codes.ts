/**
 * Binary codes for face similarity search (docs/decisions.md, "Face similarity search"): each
 * embedding becomes one bit per dimension, set where the value is above the model's mean vector
 * (the "center"). The Hamming distance between two codes follows the angle between the centered
 * vectors, so the few hundred faces with the nearest codes hold the true nearest neighbours; those
 * are then ranked exactly by cosine on their stored embeddings.
 *
 * Centering matters: some models (the built-in human `faceres`) emit only non-negative values, so
 * the sign alone would say little. A code is `ceil(dim / 32)` 32-bit words, bit `i` of word
 * `i >> 5` for dimension `i`.
 */

/** 32-bit words in the code of a `dim`-dimensional embedding. */
export function codeWords(dim: number): number {
  return Math.ceil(dim / 32);
}

/** The mean of unit-length copies of `vectors` (all of one length); undefined when there are none. */
export function meanOfUnitVectors(vectors: readonly ArrayLike<number>[]): Float32Array | undefined {
  const first = vectors[0];
  if (!first) return undefined;
  const sum = new Float64Array(first.length);
  let used = 0;
  for (const v of vectors) {
    if (v.length !== first.length) continue;
    let norm = 0;
    for (let i = 0; i < v.length; i++) norm += (v[i] as number) ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    for (let i = 0; i < v.length; i++) sum[i] = (sum[i] as number) + (v[i] as number) / norm;
    used++;
  }
  if (used === 0) return undefined;
  return Float32Array.from(sum, (s) => s / used);
}

/**
 * The code of `vector` around `center` (same length): bit i set when the unit-length vector's value
 * i is above center[i]. Written into `out` at word offset `at` when given.
 */
export function binaryCode(
  vector: ArrayLike<number>,
  center: ArrayLike<number>,
  out: Uint32Array = new Uint32Array(codeWords(vector.length)),
  at = 0,
): Uint32Array {
  if (vector.length !== center.length) {
    throw new Error(`vector of ${vector.length} values, center of ${center.length}`);
  }
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += (vector[i] as number) ** 2;
  norm = Math.sqrt(norm) || 1;
  const words = codeWords(vector.length);
  out.fill(0, at, at + words);
  for (let i = 0; i < vector.length; i++) {
    if ((vector[i] as number) / norm > (center[i] as number)) {
      out[at + (i >>> 5)] = ((out[at + (i >>> 5)] as number) | (1 << (i & 31))) >>> 0;
    }
  }
  return out;
}

/** Set bits of a 32-bit word. */
export function popcount32(word: number): number {
  let x = word >>> 0;
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** One stored run of codes: `ids[j]` has the code at words `j * words .. (j + 1) * words`. */
export interface CodeBlock {
  ids: Uint32Array;
  codes: Uint32Array;
}

/**
 * The ids of at least `count` codes nearest to `query` by Hamming distance (all of them when there
 * are fewer; ties at the cut are all kept, so the answer does not depend on block order), without
 * `excludeId`. Two passes: distances (and their histogram), then the ids within the cut. The hot
 * loop is written out (popcount inline, one distance array) because it runs 100k times a search.
 */
export function nearestCodes(
  blocks: readonly CodeBlock[],
  query: Uint32Array,
  count: number,
  excludeId?: number,
): number[] {
  const words = query.length;
  const bits = words * 32;
  let total = 0;
  for (const block of blocks) total += block.ids.length;
  const distances = new Uint16Array(total);
  const histogram = new Uint32Array(bits + 1);
  let at = 0;
  for (const block of blocks) {
    const { ids, codes } = block;
    const n = ids.length;
    for (let j = 0, base = 0; j < n; j++, base += words) {
      let d = 0;
      for (let w = 0; w < words; w++) {
        let x = ((codes[base + w] as number) ^ (query[w] as number)) >>> 0;
        x -= (x >>> 1) & 0x55555555;
        x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
        x = (x + (x >>> 4)) & 0x0f0f0f0f;
        d += Math.imul(x, 0x01010101) >>> 24;
      }
      distances[at++] = d;
      if (ids[j] !== excludeId) histogram[d] = (histogram[d] as number) + 1;
    }
  }
  let cut = 0;
  for (let seen = 0; cut < bits && seen + (histogram[cut] as number) < count; cut++) {
    seen += histogram[cut] as number;
  }
  const found: number[] = [];
  at = 0;
  for (const block of blocks) {
    const { ids } = block;
    for (let j = 0; j < ids.length; j++, at++) {
      const id = ids[j] as number;
      if ((distances[at] as number) <= cut && id !== excludeId) found.push(id);
    }
  }
  return found;
}

/** How many codes to rank exactly for a k-nearest query: 20 per result, at least 256. */
export function candidatesFor(k: number): number {
  return Math.max(256, k * 20);
}
