import { cosineSimilarity } from './embedding.ts';

/** A face of the photo being bound. `embedding` undefined = zero (a forced manual face): never bound. */
export interface AutoBindFace {
  id: number;
  embedding: Float32Array | undefined;
  /** Share of the image the box covers (w * h of the relative box): the larger face wins a tie. */
  area: number;
  personId: number | null;
}

/** A person whose name is a tag of the photo. */
export interface AutoBindPerson {
  id: number;
  /** Mean embedding of the person's faces of this model; undefined when the person has none. */
  mean: Float32Array | undefined;
}

export interface AutoBinding {
  faceId: number;
  personId: number;
  /** Cosine to the person's mean; null when the person had no faces. */
  similarity: number | null;
  /** The person had no faces: this face becomes the cover. */
  cover: boolean;
}

/**
 * Auto-bind (SPEC 6): which faces of one photo go to which of the persons the photo is tagged with.
 * - A face already bound, or a person already present on the photo, is left alone.
 * - A person with faces takes the face most similar to their mean, if cosine >= `minCos`; pairs are
 *   taken greedily, most similar first, so each face and each person is used at most once.
 * - A person with no faces binds unconditionally (and the face becomes the cover) to the largest
 *   face still free — but only when they are the one face-less person tagged on the photo: two
 *   face-less names on a group photo cannot be told apart, so neither binds.
 */
export function planAutoBind(
  faces: readonly AutoBindFace[],
  persons: readonly AutoBindPerson[],
  minCos: number,
): AutoBinding[] {
  const present = new Set(faces.flatMap((f) => (f.personId === null ? [] : [f.personId])));
  const free = faces.filter((f) => f.personId === null && f.embedding !== undefined);
  const wanting = persons.filter((p) => !present.has(p.id));
  const takenFaces = new Set<number>();
  const out: AutoBinding[] = [];

  const pairs: { face: AutoBindFace; person: AutoBindPerson; similarity: number }[] = [];
  for (const person of wanting) {
    if (!person.mean) continue;
    for (const face of free) {
      const similarity = cosineSimilarity(face.embedding as Float32Array, person.mean);
      if (similarity >= minCos) pairs.push({ face, person, similarity });
    }
  }
  pairs.sort((a, b) => b.similarity - a.similarity || a.face.id - b.face.id || a.person.id - b.person.id);
  const boundPersons = new Set<number>();
  for (const { face, person, similarity } of pairs) {
    if (takenFaces.has(face.id) || boundPersons.has(person.id)) continue;
    takenFaces.add(face.id);
    boundPersons.add(person.id);
    out.push({ faceId: face.id, personId: person.id, similarity, cover: false });
  }

  const faceless = wanting.filter((p) => !p.mean);
  const onlyFaceless = faceless.length === 1 ? faceless[0] : undefined;
  if (onlyFaceless) {
    const largest = free
      .filter((f) => !takenFaces.has(f.id))
      .sort((a, b) => b.area - a.area || a.id - b.id)[0];
    if (largest) out.push({ faceId: largest.id, personId: onlyFaceless.id, similarity: null, cover: true });
  }
  return out;
}
