import { faceThresholdsFor } from '@lumen/core';
import {
  type FacesRepository,
  PersonNameTakenError,
  type PersonRow,
  type PersonsRepository,
} from '@lumen/db';
import { clusterPendingFaces } from '@lumen/faces';
import { ProblemError } from '../http/problem.ts';
import { notFound } from './faces.service.ts';

export interface PersonView {
  id: number;
  name: string;
  notes: string | null;
  cover_face_id: number | null;
  cover_url: string | null;
  face_count: number;
  photo_count: number;
  created_at: string;
  updated_at: string;
}

export interface SuggestionView {
  id: number;
  model: string;
  size: number;
  face_ids: number[];
  thumbnail_urls: string[];
}

/** Faces looked at per suggestions request (the rest on the next one; see `pending`). */
const CLUSTER_BATCH = 2_000;
/** Faces named per suggestion in the listing. */
const SUGGESTION_SAMPLE = 12;

/** Persons (SPEC 6): names, covers, notes, merges, and suggestions (clusters of unassigned faces). */
export class PersonsService {
  private clustering: Promise<number> | undefined;

  constructor(
    private readonly persons: PersonsRepository,
    private readonly faces: FacesRepository,
  ) {}

  async list(): Promise<PersonView[]> {
    return (await this.persons.list()).map(view);
  }

  async get(id: number): Promise<PersonView> {
    const person = await this.persons.withCounts(id);
    if (!person) throw notFound('id', `no person ${id}`);
    return view(person);
  }

  async create(body: { name: string; notes?: string | null; face_ids?: number[] }): Promise<PersonView> {
    const person = await this.persons.create(body.name, body.notes ?? null).catch(nameTaken);
    if (body.face_ids && body.face_ids.length > 0) await this.assignFaces(person, body.face_ids);
    return this.get(person.id);
  }

  async update(
    id: number,
    body: { name?: string; notes?: string | null; cover_face_id?: number | null },
  ): Promise<PersonView> {
    const person = await this.require(id);
    if (body.name !== undefined || body.notes !== undefined) {
      await this.persons
        .update(id, {
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.notes === undefined ? {} : { notes: body.notes }),
        })
        .catch(nameTaken);
    }
    if (body.cover_face_id !== undefined) {
      if (body.cover_face_id !== null) {
        const face = await this.faces.byId(body.cover_face_id);
        if (!face || face.person_id !== person.id) {
          const message = `face ${body.cover_face_id} is not a face of person ${id}`;
          throw new ProblemError('validation', message, {
            errors: [{ in: 'body', name: 'cover_face_id', message }],
          });
        }
      }
      await this.persons.setCover(id, body.cover_face_id);
    }
    return this.get(id);
  }

  async delete(id: number): Promise<void> {
    await this.require(id);
    await this.persons.delete(id);
  }

  /** Merge each of `sourceIds` into `targetId`: faces move; the target keeps its name and cover. */
  async merge(targetId: number, sourceIds: number[]): Promise<PersonView> {
    await this.require(targetId);
    for (const sourceId of sourceIds) {
      if (sourceId === targetId) continue;
      if (!(await this.persons.findById(sourceId))) throw notFound('source_ids', `no person ${sourceId}`);
    }
    for (const sourceId of new Set(sourceIds))
      if (sourceId !== targetId) await this.persons.merge(sourceId, targetId);
    return this.get(targetId);
  }

  /** Clusters of unassigned faces, after looking at faces not clustered yet (one batch per call). */
  async suggestions(limit: number): Promise<{ suggestions: SuggestionView[]; pending: number }> {
    // One clustering run at a time in this process; concurrent requests wait for it.
    while (this.clustering) await this.clustering.catch(() => 0);
    this.clustering = clusterPendingFaces(this.faces, CLUSTER_BATCH);
    try {
      await this.clustering;
    } finally {
      this.clustering = undefined;
    }
    const pending = (await this.faces.modelsWithPendingClustering()).length > 0;
    const clusters = await this.faces.clusters(2, limit);
    return {
      suggestions: clusters
        .filter((c) => c.size >= faceThresholdsFor(c.modelVersion).clusterMinPoints)
        .map((c) => {
          const sample = c.faceIds.slice(0, SUGGESTION_SAMPLE);
          return {
            id: c.clusterId,
            model: c.modelVersion,
            size: c.size,
            face_ids: sample,
            thumbnail_urls: sample.map((id) => `/faces/${id}/thumb`),
          };
        }),
      pending: pending ? 1 : 0,
    };
  }

  /** Name a suggestion: its unassigned faces go to the person of that name (made when new). */
  async nameSuggestion(clusterId: number, name: string): Promise<PersonView> {
    const faceIds = await this.faces.clusterFaceIds(clusterId);
    if (faceIds.length === 0) throw notFound('id', `no suggestion ${clusterId}`);
    const person =
      (await this.persons.findByName(name)) ?? (await this.persons.create(name).catch(nameTaken));
    await this.assignFaces(person, faceIds);
    return this.get(person.id);
  }

  private async assignFaces(person: PersonRow, faceIds: number[]): Promise<void> {
    for (const id of faceIds) {
      const face = await this.faces.byId(id);
      if (face?.status !== 'detected') throw notFound('face_ids', `no face ${id}`);
    }
    await this.faces.setPerson(faceIds, person.id);
    if (person.cover_face_id === null && faceIds[0] !== undefined)
      await this.persons.setCover(person.id, faceIds[0]);
  }

  private async require(id: number): Promise<PersonRow> {
    const person = await this.persons.findById(id);
    if (!person) throw notFound('id', `no person ${id}`);
    return person;
  }
}

function view(p: PersonRow & { face_count: number; photo_count: number }): PersonView {
  return {
    id: p.id,
    name: p.name,
    notes: p.notes,
    cover_face_id: p.cover_face_id,
    cover_url: p.cover_face_id === null ? null : `/faces/${p.cover_face_id}/thumb`,
    face_count: p.face_count,
    photo_count: p.photo_count,
    created_at: p.created_at,
    updated_at: p.updated_at,
  };
}

function nameTaken(err: unknown): never {
  if (err instanceof PersonNameTakenError) {
    throw new ProblemError('conflict', err.message, {
      errors: [{ in: 'body', name: 'name', message: err.message }],
    });
  }
  throw err;
}
