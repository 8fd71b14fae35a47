import {
  displaySize,
  type PhotoRef,
  type PixelBox,
  pixelsFromRelative,
  type RelativeBox,
  relativeFromPixels,
} from '@lumen/core';
import type {
  FaceBacklogItem,
  FaceSummaryRow,
  FacesRepository,
  FaceVectorIndex,
  PersonsRepository,
} from '@lumen/db';
import {
  cropFace,
  ensureFaceThumb,
  type FaceClient,
  FaceDetector,
  FaceImageRejectedError,
  FaceServiceUnavailableError,
  FaceSourceError,
  faceSourceImage,
} from '@lumen/faces';
import type { Logger } from '@lumen/runtime';
import sharp from 'sharp';
import { ProblemError } from '../http/problem.ts';
import type { PhotoLocator } from './photo-locator.ts';

export interface FaceView {
  id: number;
  /** In pixels of the photo as displayed (EXIF orientation applied). */
  bbox: PixelBox;
  /** The same box as fractions of the displayed photo. */
  bbox_relative: RelativeBox;
  score: number | null;
  source: string;
  person: { id: number; name: string } | null;
  model: string | null;
  /** A forced manual face without an embedding (not searchable, never clustered). */
  embedding_zero: boolean;
  content_hash: string;
  library_id: number;
  path: string;
  thumbnail_url: string;
}

export interface PhotoFacesView {
  library_id: number;
  path: string;
  content_hash: string;
  /** `pending`: not sent yet (or faces are off); else the detection's outcome. */
  status: 'pending' | 'detected' | 'no_faces' | 'failed';
  /** The marker row of a `no_faces` / `failed` photo (rerun takes it as {id}). */
  marker_id: number | null;
  width: number;
  height: number;
  faces: FaceView[];
}

export interface FacesServiceDeps {
  faces: FacesRepository;
  persons: PersonsRepository;
  vectors: FaceVectorIndex;
  locator: PhotoLocator;
  /** Undefined when faces are off. */
  client: FaceClient | undefined;
  thumbnailsDir: string;
  previewSize: number;
  autobindMinCos: number | undefined;
  logger: Logger;
}

/** Faces of photos (SPEC 6): listing, manual faces, reruns, crops, similarity. */
export class FacesService {
  private readonly detector: FaceDetector | undefined;

  constructor(private readonly deps: FacesServiceDeps) {
    this.detector = deps.client
      ? new FaceDetector({
          client: deps.client,
          faces: deps.faces,
          persons: deps.persons,
          thumbnailsDir: deps.thumbnailsDir,
          previewSize: deps.previewSize,
          autobindMinCos: deps.autobindMinCos,
          logger: deps.logger,
        })
      : undefined;
  }

  async ofPhoto(ref: PhotoRef): Promise<PhotoFacesView> {
    const photo = await this.deps.locator.locate(ref);
    return this.viewOfContent(photo.id, photo.libraryId, photo.relPath, photo.contentHash);
  }

  private async viewOfContent(
    imageId: number,
    libraryId: number,
    relPath: string,
    contentHash: string,
  ): Promise<PhotoFacesView> {
    const { width, height } = await this.displaySizeOf(imageId, contentHash);
    const rows = await this.deps.faces.ofContent(contentHash);
    const detected = rows.filter((r) => r.status === 'detected');
    const marker = rows.find((r) => r.status !== 'detected');
    const names = await this.personNames(detected);
    return {
      library_id: libraryId,
      path: relPath,
      content_hash: contentHash,
      status:
        detected.length > 0
          ? 'detected'
          : ((marker?.status as 'no_faces' | 'failed' | undefined) ?? 'pending'),
      marker_id: marker?.id ?? null,
      width,
      height,
      faces: detected.map((r) => this.faceView(r, width, height, names)),
    };
  }

  private async personNames(rows: FaceSummaryRow[]): Promise<Map<number, string>> {
    const names = new Map<number, string>();
    for (const id of new Set(rows.flatMap((r) => (r.person_id === null ? [] : [r.person_id])))) {
      const person = await this.deps.persons.findById(id);
      if (person) names.set(id, person.name);
    }
    return names;
  }

  private faceView(row: FaceSummaryRow, width: number, height: number, names: Map<number, string>): FaceView {
    const box = { x: row.bbox_x ?? 0, y: row.bbox_y ?? 0, w: row.bbox_w ?? 0, h: row.bbox_h ?? 0 };
    return {
      id: row.id,
      bbox: pixelsFromRelative(box, width, height),
      bbox_relative: box,
      score: row.confidence,
      source: row.source,
      person: row.person_id === null ? null : { id: row.person_id, name: names.get(row.person_id) ?? '' },
      model: row.model_version,
      embedding_zero: row.embedding_zero === 1,
      content_hash: row.content_hash,
      library_id: row.library_id,
      path: row.rel_path,
      thumbnail_url: `/faces/${row.id}/thumb`,
    };
  }

  /** Displayed size: the stored size with orientation applied, or the preview's when unknown. */
  private async displaySizeOf(
    imageId: number,
    contentHash: string,
  ): Promise<{ width: number; height: number }> {
    const size = await this.deps.faces.imageSize(imageId);
    if (size?.width && size.height) return displaySize(size.width, size.height, size.orientation);
    const location = await this.deps.faces.locations([imageId]);
    const item = location[0];
    if (!item) return { width: 1, height: 1 };
    if (item.contentHash !== contentHash) return { width: 1, height: 1 };
    const meta = await sharp(await this.source(item)).metadata();
    return { width: meta.width ?? 1, height: meta.height ?? 1 };
  }

  private async source(item: FaceBacklogItem): Promise<Buffer> {
    try {
      return await faceSourceImage({
        root: item.root,
        relPath: item.relPath,
        contentHash: item.contentHash,
        orientation: item.orientation,
        thumbnailsDir: this.deps.thumbnailsDir,
        previewSize: this.deps.previewSize,
      });
    } catch (err) {
      if (err instanceof FaceSourceError) {
        throw new ProblemError('thumbnail-unsupported', `cannot decode the photo: ${err.message}`);
      }
      throw err;
    }
  }

  private requireClient(): { client: FaceClient; detector: FaceDetector } {
    if (!this.deps.client || !this.detector) {
      throw new ProblemError(
        'unavailable',
        'faces are off: no face-inference service is configured (APOLLO_FACE_API_BASE_URL)',
      );
    }
    return { client: this.deps.client, detector: this.detector };
  }

  /**
   * A face the user drew (`bbox` in displayed pixels): cropped upright, padded to ~50% face fill,
   * embedded by the service; with `force` saved with a zero embedding (no service needed).
   */
  async addManual(
    body: PhotoRef & { bbox: PixelBox; force?: boolean; person_id?: number },
  ): Promise<FaceView> {
    const photo = await this.deps.locator.locate(body);
    const item = (await this.deps.faces.locations([photo.id]))[0];
    if (!item) throw new ProblemError('not-found', 'photo vanished');
    if (item.mediaType === 'video') throw new ProblemError('bad-request', 'videos have no faces');
    const { width, height } = await this.displaySizeOf(photo.id, photo.contentHash);
    const box = relativeFromPixels(body.bbox, width, height);
    if (!box) {
      const message = `the box lies outside the ${width} x ${height} photo or is empty`;
      throw new ProblemError('validation', message, { errors: [{ in: 'body', name: 'bbox', message }] });
    }
    if (body.person_id !== undefined && !(await this.deps.persons.findById(body.person_id))) {
      throw notFound('person_id', `no person ${body.person_id}`);
    }
    let embedding: Float32Array;
    let model: string;
    if (body.force) {
      const info = this.deps.client ? await this.deps.client.info().catch(() => undefined) : undefined;
      embedding = new Float32Array(info?.embeddingDim ?? 512);
      model = info?.model ?? 'none';
    } else {
      const { client } = this.requireClient();
      const crop = await cropFace(await this.source(item), box, { fill: 0.5 });
      try {
        const result = await client.embed(crop);
        embedding = result.embedding;
        model = result.model;
      } catch (err) {
        throw serviceProblem(err);
      }
    }
    const [id] = await this.deps.faces.addFaces(
      { libraryId: photo.libraryId, relPath: photo.relPath, contentHash: photo.contentHash },
      [
        {
          box,
          embedding,
          confidence: null,
          source: 'manual',
          modelVersion: model,
          zero: body.force === true,
        },
      ],
    );
    if (id === undefined) throw new Error('no face stored');
    if (body.person_id !== undefined) {
      await this.deps.faces.setPerson([id], body.person_id);
      const person = await this.deps.persons.findById(body.person_id);
      if (person && person.cover_face_id === null) await this.deps.persons.setCover(person.id, id);
    }
    return this.face(id);
  }

  async face(id: number): Promise<FaceView> {
    const row = await this.requireFace(id);
    const item = await this.locationOf(row);
    const { width, height } = item
      ? await this.displaySizeOf(item.imageId, row.content_hash)
      : { width: 1, height: 1 };
    return this.faceView(row, width, height, await this.personNames([row]));
  }

  /** Detect the faces of the photo of face (or marker) `id` again: auto rows replaced, manual rows kept. */
  async rerun(id: number): Promise<PhotoFacesView> {
    const row = await this.requireFace(id);
    const { detector } = this.requireClient();
    const item = await this.locationOf(row);
    if (!item) throw notFound('id', `the photo of face ${id} is gone`);
    try {
      await detector.detect(item, { rerun: true });
    } catch (err) {
      throw serviceProblem(err);
    }
    return this.viewOfContent(item.imageId, item.libraryId, item.relPath, item.contentHash);
  }

  async delete(id: number): Promise<void> {
    await this.requireFace(id);
    await this.deps.faces.delete(id);
  }

  /** Assign a face to a person (null: unassign). A person without a cover takes this face. */
  async assign(id: number, personId: number | null): Promise<FaceView> {
    const row = await this.requireFace(id);
    if (row.status !== 'detected') throw notFound('id', `no face ${id}`);
    if (personId !== null) {
      const person = await this.deps.persons.findById(personId);
      if (!person) throw notFound('person_id', `no person ${personId}`);
      await this.deps.faces.setPerson([id], personId);
      if (person.cover_face_id === null) await this.deps.persons.setCover(personId, id);
    } else {
      await this.deps.faces.setPerson([id], null);
    }
    return this.face(id);
  }

  /** The face crop file (content-addressed by hash and box); made on first request. */
  async thumbPath(id: number): Promise<string> {
    const row = await this.requireFace(id);
    if (row.status !== 'detected') throw notFound('id', `no face ${id}`);
    const item = await this.locationOf(row);
    if (!item) throw notFound('id', `the photo of face ${id} is gone`);
    const box = { x: row.bbox_x ?? 0, y: row.bbox_y ?? 0, w: row.bbox_w ?? 0, h: row.bbox_h ?? 0 };
    try {
      return await ensureFaceThumb(
        {
          root: item.root,
          relPath: item.relPath,
          contentHash: item.contentHash,
          orientation: item.orientation,
          thumbnailsDir: this.deps.thumbnailsDir,
          previewSize: this.deps.previewSize,
        },
        box,
      );
    } catch (err) {
      if (err instanceof FaceSourceError) throw new ProblemError('thumbnail-unsupported', err.message);
      throw err;
    }
  }

  /** The k faces of the same model most like face `id` (cosine), most similar first. */
  async similar(id: number, k: number): Promise<{ face: FaceView; similarity: number }[]> {
    const row = await this.requireFace(id);
    const query = await this.deps.faces.embeddingOf(id);
    if (!query || !row.model_version) return [];
    const found = await this.deps.vectors.nearest(query, row.model_version, k, id);
    const out = [];
    for (const hit of found)
      out.push({ face: await this.face(hit.id), similarity: Math.round(hit.similarity * 10_000) / 10_000 });
    return out;
  }

  private async requireFace(id: number): Promise<FaceSummaryRow> {
    const row = await this.deps.faces.byId(id);
    if (!row) throw notFound('id', `no face ${id}`);
    return row;
  }

  private async locationOf(row: FaceSummaryRow): Promise<FaceBacklogItem | undefined> {
    return (
      (await this.deps.faces
        .locationOf(row.library_id, row.rel_path)
        .then((l) => (l?.contentHash === row.content_hash ? l : undefined))) ??
      (await this.deps.faces.anyLocationOfContent(row.content_hash))
    );
  }
}

export function notFound(name: string, message: string): ProblemError {
  return new ProblemError('not-found', message, {
    errors: [{ in: name === 'id' ? 'path' : 'body', name, message }],
  });
}

function serviceProblem(err: unknown): Error {
  if (err instanceof FaceServiceUnavailableError) {
    return new ProblemError('unavailable', `face service unavailable: ${err.message}`, {
      ...(err.retryAfterMs === undefined
        ? {}
        : { headers: { 'Retry-After': String(Math.ceil(err.retryAfterMs / 1000)) } }),
    });
  }
  if (err instanceof FaceImageRejectedError)
    return new ProblemError('bad-request', `face service refused the image: ${err.message}`);
  return err instanceof Error ? err : new Error(String(err));
}
