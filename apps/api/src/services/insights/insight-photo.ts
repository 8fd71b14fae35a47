import fs from 'node:fs/promises';
import type { PhotoRef } from '@lumen/core';
import type { Logger } from '@lumen/runtime';
import type { ImagesService } from '../images.service.ts';
import type { PhotoLocator } from '../photo-locator.ts';
import type { InsightPhoto } from './insight-tools.ts';

/** Find the photo a request names, with its metadata; its preview (RAW: the embedded one) on demand. */
export class InsightPhotoLoader {
  constructor(
    private readonly locator: PhotoLocator,
    private readonly images: ImagesService,
    private readonly logger: Logger,
  ) {}

  async load(ref: PhotoRef): Promise<InsightPhoto> {
    const hashed = await this.locator.locate(ref);
    const file = await this.images.locate(String(hashed.libraryId), hashed.relPath);
    return {
      libraryId: hashed.libraryId,
      library: hashed.library,
      relPath: hashed.relPath,
      contentHash: hashed.contentHash,
      metadata: this.images.metadata(file),
    };
  }

  /** The preview JPEG as base64, or undefined when none can be made (a video, an undecodable file). */
  async previewBase64(photo: InsightPhoto): Promise<string | undefined> {
    try {
      const file = await this.images.locate(String(photo.libraryId), photo.relPath);
      const source = await this.images.derivativeSource(file);
      let previewPath: string;
      try {
        if (source.mediaType === 'video') return undefined;
        previewPath = await this.images.derivative(source, 'preview', file);
      } finally {
        await source.opened?.close(); // the checked descriptor of the original
      }
      return (await fs.readFile(previewPath)).toString('base64');
    } catch (err) {
      this.logger.warn(
        { path: photo.relPath, err: (err as Error).message },
        'no preview for the insight; metadata only',
      );
      return undefined;
    }
  }
}
