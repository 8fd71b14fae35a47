import { type ClusterNeighbour, clusterNewFace, cosineSimilarity, faceThresholdsFor } from '@lumen/core';
import type { FacesRepository, FaceVector } from '@lumen/db';

const PAGE = 2_000;

/**
 * Runs incremental clustering (core clusterNewFace) over unassigned faces not looked at yet, at most
 * `limit` per call, model by model with that model's thresholds. The neighbourhood (already
 * clustered unassigned faces of the model) is read once per call and kept up to date in memory.
 * Returns how many faces it looked at.
 */
export async function clusterPendingFaces(faces: FacesRepository, limit: number): Promise<number> {
  let done = 0;
  for (const model of await faces.modelsWithPendingClustering()) {
    if (done >= limit) break;
    const params = faceThresholdsFor(model);
    const known: FaceVector[] = [];
    for (let after = 0; ; ) {
      const page = await faces.unassignedVectors(model, true, PAGE, after);
      known.push(...page);
      if (page.length < PAGE) break;
      after = page.at(-1)?.id ?? after;
    }
    const pending = await faces.unassignedVectors(model, false, limit - done);
    for (const face of pending) {
      const neighbours: ClusterNeighbour[] = [];
      for (const other of known) {
        const similarity = cosineSimilarity(face.embedding, other.embedding);
        if (similarity >= params.clusterMinCos)
          neighbours.push({ faceId: other.id, clusterId: other.clusterId, similarity });
      }
      const decision = clusterNewFace(face.id, neighbours, {
        minCos: params.clusterMinCos,
        minPoints: params.clusterMinPoints,
      });
      await faces.applyCluster(face.id, decision.kind === 'cluster' ? decision : undefined);
      const entry: FaceVector = { ...face, clusterId: null };
      known.push(entry);
      if (decision.kind === 'cluster') {
        const members = new Set(decision.members);
        const merged = new Set(decision.merged);
        for (const k of known) {
          if (members.has(k.id) || (k.clusterId !== null && merged.has(k.clusterId)))
            k.clusterId = decision.clusterId;
        }
      }
      done++;
    }
  }
  return done;
}
