/**
 * Suggestions: clusters of unassigned faces, built incrementally with a density rule in the spirit
 * of DBSCAN (eps = a cosine threshold, minPoints = the density), one new face at a time, so a
 * library with a hundred thousand faces never needs an all-pairs pass:
 * - a new face with at least one clustered neighbour joins the cluster of its most similar one; if
 *   it is dense (itself + neighbours >= minPoints) it also pulls its unclustered neighbours in and
 *   merges every other cluster among its neighbours (density-connected clusters are one);
 * - a new face with no clustered neighbour but dense enough founds a cluster with all its neighbours
 *   (its own id is the cluster id);
 * - otherwise it is noise for now, and may be pulled into a cluster by a later face.
 * Neighbours are the already-processed unassigned faces of the same model with cosine >= eps.
 */

export interface ClusterParams {
  /** Cosine similarity at or above which two faces are neighbours. */
  minCos: number;
  /** Faces (the new one included) that make a dense neighbourhood. */
  minPoints: number;
}

export interface ClusterNeighbour {
  faceId: number;
  clusterId: number | null;
  similarity: number;
}

export type ClusterDecision =
  | { kind: 'noise' }
  | {
      kind: 'cluster';
      clusterId: number;
      /** Faces that take `clusterId` (the new face first). */
      members: number[];
      /** Other clusters relabelled to `clusterId`. */
      merged: number[];
    };

export function clusterNewFace(
  faceId: number,
  neighbours: readonly ClusterNeighbour[],
  params: ClusterParams,
): ClusterDecision {
  const near = neighbours
    .filter((n) => n.faceId !== faceId && n.similarity >= params.minCos)
    .sort((a, b) => b.similarity - a.similarity || a.faceId - b.faceId);
  const dense = near.length + 1 >= params.minPoints;
  const clustered = near.filter((n) => n.clusterId !== null);
  const best = clustered[0];
  if (best && best.clusterId !== null) {
    const clusterId = best.clusterId;
    if (!dense) return { kind: 'cluster', clusterId, members: [faceId], merged: [] };
    const merged = [...new Set(clustered.map((n) => n.clusterId as number))].filter((c) => c !== clusterId);
    const members = [faceId, ...near.filter((n) => n.clusterId === null).map((n) => n.faceId)];
    return { kind: 'cluster', clusterId, members, merged: merged.sort((a, b) => a - b) };
  }
  if (dense)
    return {
      kind: 'cluster',
      clusterId: faceId,
      members: [faceId, ...near.map((n) => n.faceId)],
      merged: [],
    };
  return { kind: 'noise' };
}
