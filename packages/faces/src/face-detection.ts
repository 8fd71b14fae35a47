import { normalizeEmbedding, relativeFromCorners } from '@lumen/core';
import type { FaceBacklogItem, FacesRepository, NewFace, PersonsRepository } from '@lumen/db';
import type { ExiftoolProcess } from '@lumen/media';
import type { Logger } from 'pino';
import { autoBindContent } from './face-autobind.ts';
import { type FaceClient, FaceContractError, FaceImageRejectedError } from './face-client.ts';
import { FaceSourceError, faceSourceImage } from './face-image.ts';

export interface FaceDetectorDeps {
  client: FaceClient;
  faces: FacesRepository;
  persons: PersonsRepository;
  thumbnailsDir: string;
  previewSize: number;
  /** FACE_AUTOBIND_MIN_COS (undefined: each model's own threshold). */
  autobindMinCos: number | undefined;
  logger: Logger;
  exiftool?: ExiftoolProcess | false;
  /** Passed to the service (defaults: the service's). */
  minScore?: number;
  maxFaces?: number;
}

/** What one detection did. `skipped`: another worker stored this content first. */
export type DetectOutcome =
  | { kind: 'detected'; faceIds: number[]; model: string }
  | { kind: 'no_faces'; model: string }
  | { kind: 'failed'; reason: string }
  | { kind: 'skipped' };

/**
 * Detects the faces of one content and stores them (or a marker), then auto-binds them by tag
 * name. Keyed by content hash: with `rerun` false nothing happens when the content has rows already.
 * Throws FaceServiceUnavailableError (and FaceContractError) when the service cannot answer now:
 * nothing is stored, the photo stays in the backlog and is tried again later.
 */
export class FaceDetector {
  constructor(private readonly deps: FaceDetectorDeps) {}

  async detect(
    item: FaceBacklogItem,
    options: { rerun?: boolean; signal?: AbortSignal } = {},
  ): Promise<DetectOutcome> {
    const rerun = options.rerun ?? false;
    const where = { libraryId: item.libraryId, relPath: item.relPath, contentHash: item.contentHash };
    const logger = this.deps.logger.child({ library: item.libraryName, relPath: item.relPath });
    if (!rerun && (await this.deps.faces.hasRows(item.contentHash))) return { kind: 'skipped' };

    let image: Buffer;
    try {
      image = await faceSourceImage({
        root: item.root,
        relPath: item.relPath,
        contentHash: item.contentHash,
        orientation: item.orientation,
        thumbnailsDir: this.deps.thumbnailsDir,
        previewSize: this.deps.previewSize,
        ...(this.deps.exiftool === undefined ? {} : { exiftool: this.deps.exiftool }),
      });
    } catch (err) {
      if (!(err instanceof FaceSourceError)) throw err;
      return this.fail(where, rerun, `cannot read the photo: ${err.message}`, logger);
    }

    let detection: Awaited<ReturnType<FaceClient['detect']>>;
    try {
      detection = await this.deps.client.detect(image, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(this.deps.minScore === undefined ? {} : { minScore: this.deps.minScore }),
        ...(this.deps.maxFaces === undefined ? {} : { maxFaces: this.deps.maxFaces }),
      });
    } catch (err) {
      if (err instanceof FaceImageRejectedError) return this.fail(where, rerun, err.message, logger);
      if (err instanceof FaceContractError)
        logger.warn({ error: err.message }, 'face service broke the contract');
      throw err;
    }

    const faces: NewFace[] = [];
    for (const face of detection.faces) {
      const box = relativeFromCorners(face.bbox, detection.imageWidth, detection.imageHeight);
      if (!box) continue;
      faces.push({
        box,
        embedding: normalizeEmbedding(face.embedding),
        confidence: face.score,
        source: 'auto',
        modelVersion: detection.model,
      });
    }
    const stored = await this.deps.faces.storeDetection(
      where,
      faces.length > 0 ? { faces } : { marker: 'no_faces', modelVersion: detection.model },
      { onlyIfNone: !rerun },
    );
    if (stored === false) return { kind: 'skipped' };
    if (faces.length === 0) return { kind: 'no_faces', model: detection.model };
    const bound = await autoBindContent(
      { faces: this.deps.faces, persons: this.deps.persons, minCos: this.deps.autobindMinCos },
      item.contentHash,
    );
    logger.debug({ faces: stored.length, bound: bound.length, model: detection.model }, 'faces detected');
    return { kind: 'detected', faceIds: stored, model: detection.model };
  }

  private async fail(
    where: { libraryId: number; relPath: string; contentHash: string },
    rerun: boolean,
    reason: string,
    logger: Logger,
  ): Promise<DetectOutcome> {
    logger.warn({ reason }, 'face detection failed for good (failed marker; a rerun retries it)');
    const stored = await this.deps.faces.storeDetection(
      where,
      { marker: 'failed', modelVersion: null },
      { onlyIfNone: !rerun },
    );
    return stored === false ? { kind: 'skipped' } : { kind: 'failed', reason };
  }
}
