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

/** Intersection over union of two boxes (0 when they do not overlap or either is empty). */
export function boxIoU(a: RelativeBox, b: RelativeBox): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = a.w * a.h + b.w * b.h - inter;
  return union <= 0 ? 0 : inter / union;
}

/** Boxes must overlap at least this much (IoU) to be the same face in two detections. */
export const SAME_FACE_MIN_IOU = 0.5;

/**
 * A photo detected again: which new face is which old one. Each old face with something to keep
 * (a person) goes to the new face it overlaps most (IoU >= SAME_FACE_MIN_IOU), best pairs first,
 * each face used once. Returns [old index, new index] pairs.
 */
export function matchRedetectedFaces(
  before: readonly RelativeBox[],
  after: readonly RelativeBox[],
): [number, number][] {
  const pairs: { o: number; n: number; iou: number }[] = [];
  before.forEach((o, oi) => {
    after.forEach((n, ni) => {
      const iou = boxIoU(o, n);
      if (iou >= SAME_FACE_MIN_IOU) pairs.push({ o: oi, n: ni, iou });
    });
  });
  pairs.sort((a, b) => b.iou - a.iou || a.o - b.o || a.n - b.n);
  const usedOld = new Set<number>();
  const usedNew = new Set<number>();
  const out: [number, number][] = [];
  for (const p of pairs) {
    if (usedOld.has(p.o) || usedNew.has(p.n)) continue;
    usedOld.add(p.o);
    usedNew.add(p.n);
    out.push([p.o, p.n]);
  }
  return out;
}
