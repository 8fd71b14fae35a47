import sharp, { type Metadata } from 'sharp';
import type { RgbImage } from './face-model.ts';

/** The body is not an image sharp can decode (or it decodes to nothing usable). */
export class BadImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadImageError';
  }
}

export interface DecodedImage {
  /** Upright (EXIF orientation applied), RGB, at most `maxSide` px on its long side. */
  image: RgbImage;
  /** Size of the full upright image: what boxes are reported in. */
  width: number;
  height: number;
  /** `image.width / width` (<= 1): divide coordinates in `image` by it to get full-image pixels. */
  scale: number;
}

/**
 * Decode with sharp (libvips): EXIF rotation applied, alpha dropped, sRGB, and
 * shrunk to `maxSide` on the long side (the detector works on a few hundred
 * pixels anyway; a 24 MP photo would cost ~300 MB as a tensor).
 */
export async function decodeUpright(
  bytes: Uint8Array,
  opts: { maxSide: number; timeoutSeconds: number },
): Promise<DecodedImage> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (err) {
    throw new BadImageError(`not a decodable image: ${(err as Error).message}`);
  }
  if (!meta.width || !meta.height) throw new BadImageError('the image has no size');
  const swapped = (meta.orientation ?? 1) >= 5;
  const width = swapped ? meta.height : meta.width;
  const height = swapped ? meta.width : meta.height;
  try {
    const { data, info } = await sharp(bytes)
      .rotate()
      .resize({ width: opts.maxSide, height: opts.maxSide, fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .timeout({ seconds: Math.max(1, Math.ceil(opts.timeoutSeconds)) })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new BadImageError(`decoded to ${info.channels} channels, not 3`);
    return {
      image: {
        data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        width: info.width,
        height: info.height,
      },
      width,
      height,
      scale: info.width / width,
    };
  } catch (err) {
    if (err instanceof BadImageError) throw err;
    throw new BadImageError(`cannot decode the image: ${(err as Error).message}`);
  }
}
