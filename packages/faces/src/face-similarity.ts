import type { FacesRepository } from '@lumen/db';

const PAGE = 5_000;

export interface SimilarFace {
  id: number;
  similarity: number;
}

/**
 * The `k` faces of one model most similar (cosine) to `query`, by an exact scan of the stored
 * embeddings a page at a time (works on SQLite and PostgreSQL alike; see docs/decisions.md,
 * "Face similarity search"). Stored embeddings are unit-normalized, so cosine is a dot product with
 * the normalized query. Zero (forced manual) faces are never in the scan.
 */
export async function nearestFaces(
  faces: FacesRepository,
  query: Float32Array,
  modelVersion: string,
  k: number,
  excludeId?: number,
): Promise<SimilarFace[]> {
  let norm = 0;
  for (const v of query) norm += v * v;
  norm = Math.sqrt(norm);
  if (norm === 0 || k <= 0) return [];
  const q = query.map((v) => v / norm);
  const best: SimilarFace[] = [];
  let worst = Number.NEGATIVE_INFINITY;
  for (let after = 0; ; ) {
    const page = await faces.searchablePage(modelVersion, after, PAGE);
    for (const row of page) {
      after = row.id;
      if (row.id === excludeId || row.embedding.length !== q.length * 4) continue;
      // Little-endian float32 bytes read in place (every platform Node runs on here is little-endian).
      const bytes =
        row.embedding.byteOffset % 4 === 0 ? row.embedding : Buffer.from(new Uint8Array(row.embedding));
      const view = new Float32Array(bytes.buffer, bytes.byteOffset, q.length);
      let dot = 0;
      for (let i = 0; i < q.length; i++) dot += (q[i] as number) * (view[i] as number);
      if (best.length < k || dot > worst) {
        best.push({ id: row.id, similarity: dot });
        best.sort((a, b) => b.similarity - a.similarity || a.id - b.id);
        if (best.length > k) best.pop();
        worst = best.at(-1)?.similarity ?? worst;
      }
    }
    if (page.length < PAGE) break;
  }
  return best;
}
