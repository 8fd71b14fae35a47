/**
 * Thresholds belong to a model, not to a server: cosine similarities of two embedding models are not
 * comparable. Each row here is documented in docs/faces.md ("Thresholds per model").
 */
export interface FaceModelThresholds {
  /** Neighbours in suggestion clustering (cosine >= this). */
  clusterMinCos: number;
  /** Faces that make a dense neighbourhood (a suggestion has at least this many). */
  clusterMinPoints: number;
  /**
   * Auto-bind (tagging a photo with a person's name binds its face) when the face's cosine to the
   * person's mean is at least this; FACE_AUTOBIND_MIN_COS, when set, wins for every model.
   */
  autobindMinCos: number;
}

/** Models whose thresholds were measured; matched by prefix of `model_version`. */
export const knownFaceModels: readonly { prefix: string; thresholds: FaceModelThresholds }[] = [
  // insightface ArcFace models (buffalo_l, buffalo_s, antelopev2): same person ~0.5-0.8, others < 0.3.
  { prefix: 'buffalo', thresholds: { clusterMinCos: 0.5, clusterMinPoints: 3, autobindMinCos: 0.4 } },
  { prefix: 'antelope', thresholds: { clusterMinCos: 0.5, clusterMinPoints: 3, autobindMinCos: 0.4 } },
  // The built-in service (apps/face-inference: human's faceres on tfjs-wasm, docs/faces-builtin.md):
  // strangers score 0.21-0.59 (median 0.34), one face against altered copies 0.66-0.99: SPEC's 0.4
  // would bind almost anyone.
  { prefix: 'human-faceres', thresholds: { clusterMinCos: 0.7, clusterMinPoints: 2, autobindMinCos: 0.65 } },
  // The tests' deterministic fake (@lumen/test-support): same identity ~0.9, others ~0.
  { prefix: 'lumen-fake', thresholds: { clusterMinCos: 0.6, clusterMinPoints: 2, autobindMinCos: 0.4 } },
];

/** When a model is not in the table: strict enough that unrelated faces of most models stay apart. */
export const defaultFaceThresholds: FaceModelThresholds = {
  clusterMinCos: 0.55,
  clusterMinPoints: 3,
  // SPEC 6's default.
  autobindMinCos: 0.4,
};

export function faceThresholdsFor(modelVersion: string | null | undefined): FaceModelThresholds {
  if (!modelVersion) return defaultFaceThresholds;
  return knownFaceModels.find((m) => modelVersion.startsWith(m.prefix))?.thresholds ?? defaultFaceThresholds;
}

/** The auto-bind threshold for faces of `modelVersion`: the configured one, else the model's own. */
export function autobindMinCosFor(
  modelVersion: string | null | undefined,
  configured: number | undefined,
): number {
  return configured ?? faceThresholdsFor(modelVersion).autobindMinCos;
}
