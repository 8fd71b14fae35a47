import type { Sharp } from 'sharp';

/**
 * Applies an EXIF orientation (1-8) to a sharp pipeline by hand. Used for pixels that carry no
 * orientation of their own but belong to a file that has one: a RAW's embedded preview, an ffmpeg
 * decode of a RAW. sharp mirrors (flip/flop) before it rotates, whatever the call order.
 */
export function applyOrientation(pipeline: Sharp, orientation: number | null | undefined): Sharp {
  switch (orientation) {
    case 2:
      return pipeline.flop();
    case 3:
      return pipeline.rotate(180);
    case 4:
      return pipeline.flip();
    case 5:
      return pipeline.rotate(90).flip();
    case 6:
      return pipeline.rotate(90);
    case 7:
      return pipeline.rotate(90).flop();
    case 8:
      return pipeline.rotate(270);
    default:
      return pipeline;
  }
}

/** Video rotation (clockwise degrees to display it, as exiftool's Rotation) as an EXIF orientation. */
export function orientationFromRotation(rotation: number | null | undefined): number {
  const normalized = (((Math.round((rotation ?? 0) / 90) * 90) % 360) + 360) % 360;
  if (normalized === 90) return 6;
  if (normalized === 180) return 3;
  if (normalized === 270) return 8;
  return 1;
}
