import { type AutoBinding, autobindMinCosFor, meanEmbedding, planAutoBind } from '@lumen/core';
import type { FacesRepository, PersonsRepository } from '@lumen/db';

/**
 * Auto-bind (SPEC 6) for one content: its faces go to the persons it is tagged with (by name) when
 * they look alike (cosine to the person's mean >= minCos: FACE_AUTOBIND_MIN_COS, or when unset the
 * threshold of the faces' model), and a person with no faces takes one and
 * makes it the cover (see planAutoBind). Called after detection and after tagging. Returns what bound.
 */
export async function autoBindContent(
  deps: { faces: FacesRepository; persons: PersonsRepository; minCos: number | undefined },
  contentHash: string,
): Promise<AutoBinding[]> {
  const persons = await deps.persons.taggedOnContent(contentHash);
  if (persons.length === 0) return [];
  const faces = await deps.faces.vectorsOfContent(contentHash);
  if (faces.length === 0) return [];
  const model = faces.find((f) => f.model_version)?.model_version;
  if (!model) return [];
  const candidates = [];
  for (const person of persons) {
    const vectors = await deps.faces.personVectors(person.id, model);
    candidates.push({ id: person.id, mean: meanEmbedding(vectors) });
  }
  const plan = planAutoBind(
    faces
      .filter((f) => f.model_version === model)
      .map((f) => ({
        id: f.id,
        embedding: f.vector,
        area: (f.bbox_w ?? 0) * (f.bbox_h ?? 0),
        personId: f.person_id,
      })),
    candidates,
    autobindMinCosFor(model, deps.minCos),
  );
  for (const binding of plan) {
    await deps.faces.setPerson([binding.faceId], binding.personId);
    const person = persons.find((p) => p.id === binding.personId);
    // A person with faces of another model only: bound, but their cover stays.
    if (binding.cover && person?.cover_face_id === null)
      await deps.persons.setCover(binding.personId, binding.faceId);
  }
  return plan;
}
