import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The real sharp, to check served images. It is a dependency of @lumen/media, not of the api, so it
 * is loaded from the media package's folder (pnpm does not hoist it); adding sharp to the api's
 * devDependencies would let this be a plain import.
 */
const mediaPackage = fileURLToPath(new URL('../../../packages/media/package.json', import.meta.url));
const requireFromMedia = createRequire(mediaPackage);

interface ImageInfo {
  format?: string;
  width?: number;
  height?: number;
  orientation?: number;
}

interface SharpImage {
  metadata(): Promise<ImageInfo>;
  raw(): {
    toBuffer(options: { resolveWithObject: true }): Promise<{ info: { width: number; height: number } }>;
  };
}

type SharpFactory = (input: Buffer, options?: { failOn?: 'error' }) => SharpImage;

const sharp = requireFromMedia('sharp') as SharpFactory;

/** Format and size of an encoded image, decoded in full: throws when libvips finds it broken. */
export async function imageInfo(bytes: Buffer): Promise<ImageInfo> {
  const metadata = await sharp(bytes, { failOn: 'error' }).metadata();
  const { info } = await sharp(bytes, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
  return { ...metadata, width: info.width, height: info.height };
}
