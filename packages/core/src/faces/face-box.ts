import type { FaceBox } from './face-contract.ts';

/** A box as fractions (0-1) of the upright image: what `face_detections.bbox_*` holds. */
export interface RelativeBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A box in pixels of the upright (displayed) image. */
export interface PixelBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/**
 * A detector's corner box (pixels of an image of `width` x `height`) as fractions, clamped to the
 * image; undefined when nothing of it is left inside (degenerate or wholly outside).
 */
export function relativeFromCorners(box: FaceBox, width: number, height: number): RelativeBox | undefined {
  const x1 = clamp01(Math.min(box.x1, box.x2) / width);
  const x2 = clamp01(Math.max(box.x1, box.x2) / width);
  const y1 = clamp01(Math.min(box.y1, box.y2) / height);
  const y2 = clamp01(Math.max(box.y1, box.y2) / height);
  if (x2 - x1 <= 0 || y2 - y1 <= 0) return undefined;
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}

/** A client's pixel box on an image of `width` x `height` as fractions; undefined when empty or outside. */
export function relativeFromPixels(box: PixelBox, width: number, height: number): RelativeBox | undefined {
  return relativeFromCorners(
    { x1: box.x, y1: box.y, x2: box.x + box.width, y2: box.y + box.height },
    width,
    height,
  );
}

/** Fractions back to pixels of an image of `width` x `height` (rounded to 0.1 px). */
export function pixelsFromRelative(box: RelativeBox, width: number, height: number): PixelBox {
  const r = (v: number) => Math.round(v * 10) / 10;
  return { x: r(box.x * width), y: r(box.y * height), width: r(box.w * width), height: r(box.h * height) };
}

/** Width and height as displayed: EXIF orientations 5-8 swap the stored sides. */
export function displaySize(
  width: number,
  height: number,
  orientation: number | null | undefined,
): { width: number; height: number } {
  return orientation !== null && orientation !== undefined && orientation >= 5 && orientation <= 8
    ? { width: height, height: width }
    : { width, height };
}

/**
 * The crop to embed for a face box: a square around the box's centre whose side is the box's
 * longer side divided by sqrt(`fill`), so the face covers about `fill` of the crop's area (0.5 by
 * default), then clipped to the image. All in pixels of the upright image, integers.
 */
export function paddedCrop(
  box: PixelBox,
  imageWidth: number,
  imageHeight: number,
  fill = 0.5,
): { left: number; top: number; width: number; height: number } {
  const side = Math.max(box.width, box.height) / Math.sqrt(fill);
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const left = Math.max(0, Math.floor(cx - side / 2));
  const top = Math.max(0, Math.floor(cy - side / 2));
  const right = Math.min(imageWidth, Math.ceil(cx + side / 2));
  const bottom = Math.min(imageHeight, Math.ceil(cy + side / 2));
  return { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
}
