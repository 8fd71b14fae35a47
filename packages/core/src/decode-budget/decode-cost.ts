/**
 * What one image decode costs in memory, estimated from its header alone (sharp's `metadata()`,
 * which reads no pixels), so that a decode can reserve its share of the process's decode budget
 * before libvips allocates anything.
 *
 * The estimate is the largest pixel buffer the decode holds: width x height x bands x bytes per
 * sample of what the loader produces, where
 * - GIF counts 4 bands whatever the header says: libvips' GIF loader (libnsgif) renders every frame
 *   into a full RGBA canvas, and the canvas covers every frame's offset (a 35-byte file can declare
 *   14000 x 14000 and cost 784 MB);
 * - JPEG counts the size after shrink-on-load (libjpeg decodes at 1/2, 1/4 or 1/8 scale when the
 *   output is that much smaller; sharp picks the largest factor with `fastShrinkOnLoad`), so camera
 *   JPEGs cost a few MB for a thumbnail or a preview;
 * - every other format counts its full size (PNG and TIFF may stream and cost less: the estimate
 *   errs on the safe side).
 */
export interface DecodeHeader {
  /** sharp's `format`: jpeg, png, webp, gif, tiff, heif, ... */
  format?: string | undefined;
  /** Pixels, of one page for multi-page images. */
  width?: number | undefined;
  height?: number | undefined;
  /** Bands as the header declares them. */
  channels?: number | undefined;
  /** libvips band format: uchar, char, ushort, short, uint, int, float, complex, double, dpcomplex. */
  depth?: string | undefined;
}

/** What the decode is resized to: a `cover` crop (thumbnail), an `inside` box (preview). */
export interface DecodeTarget {
  width: number;
  height: number;
  fit: 'cover' | 'inside';
}

const BYTES_PER_SAMPLE: Record<string, number> = {
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  complex: 8,
  double: 8,
  dpcomplex: 16,
};

/** How much libjpeg shrinks on load for this resize: 1, 2, 4 or 8 (sharp with fastShrinkOnLoad). */
export function jpegShrinkOnLoad(width: number, height: number, target: DecodeTarget | undefined): number {
  if (!target || width <= 0 || height <= 0) return 1;
  const hshrink = width / target.width;
  const vshrink = height / target.height;
  // cover keeps the larger scale (the smaller shrink) so the crop is filled; inside the smaller scale.
  const shrink = target.fit === 'cover' ? Math.min(hshrink, vshrink) : Math.max(hshrink, vshrink);
  if (shrink >= 8) return 8;
  if (shrink >= 4) return 4;
  if (shrink >= 2) return 2;
  return 1;
}

/** Bytes of the largest pixel buffer decoding this image for `target` holds (see above). */
export function estimateDecodeBytes(header: DecodeHeader, target?: DecodeTarget): number {
  const width = Math.max(0, Math.trunc(header.width ?? 0));
  const height = Math.max(0, Math.trunc(header.height ?? 0));
  if (width === 0 || height === 0) return 0;
  const format = (header.format ?? '').toLowerCase();
  const bands = format === 'gif' ? 4 : Math.max(1, Math.trunc(header.channels ?? 4));
  const sampleBytes = BYTES_PER_SAMPLE[header.depth ?? 'uchar'] ?? 1;
  const shrink = format === 'jpeg' ? jpegShrinkOnLoad(width, height, target) : 1;
  return Math.ceil(width / shrink) * Math.ceil(height / shrink) * bands * sampleBytes;
}
