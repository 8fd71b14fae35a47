import type { SourceFacts } from '../source-facts.ts';

/**
 * The video-wall outputs of one video, made by one ffmpeg run that decodes the source once:
 * - a silent looping clip: about 3 s from about 10% in, 480 px wide, H.264 (yuv420p) MP4 with the
 *   index up front (`+faststart`) so it starts playing at once;
 * - an animated GIF thumbnail of the same moment: 320 px wide, 10 fps, with its own palette.
 * Rotation is applied (ffmpeg's autorotate). Pure: facts in, arguments out.
 */

export const PREVIEW_CLIP_SECONDS = 3;
export const PREVIEW_START_FRACTION = 0.1;
export const PREVIEW_CLIP_WIDTH = 480;
export const GIF_WIDTH = 320;
export const GIF_FPS = 10;

export interface ClipWindow {
  startSec: number;
  lengthSec: number;
}

/**
 * Where the clip starts and how long it is: 10% in, but early enough that 3 s remain; a source
 * shorter than 3 s (or of unknown length) is taken from the start.
 */
export function clipWindow(durationSec: number | null, clipSec = PREVIEW_CLIP_SECONDS): ClipWindow {
  if (durationSec === null || durationSec <= clipSec) return { startSec: 0, lengthSec: clipSec };
  const startSec = Math.min(durationSec * PREVIEW_START_FRACTION, durationSec - clipSec);
  return { startSec: Math.round(startSec * 1000) / 1000, lengthSec: clipSec };
}

/** Arguments (after the common flags) that write the clip to `clipOut` and the GIF to `gifOut`. */
export function previewFfmpegArgs(
  sourcePath: string,
  facts: SourceFacts,
  window: ClipWindow,
  clipOut: string,
  gifOut: string,
): string[] {
  const graph = [
    `[0:${facts.video.index}]split=2[c][g]`,
    `[c]scale=${PREVIEW_CLIP_WIDTH}:-2:flags=bicubic,setsar=1,format=yuv420p[clip]`,
    `[g]fps=${GIF_FPS},scale=${GIF_WIDTH}:-2:flags=lanczos,setsar=1,split[g1][g2]`,
    '[g1]palettegen=max_colors=128:stats_mode=diff[palette]',
    '[g2][palette]paletteuse=dither=bayer:bayer_scale=4[gif]',
  ].join(';');
  return [
    ...(window.startSec > 0 ? ['-ss', String(window.startSec)] : []),
    '-t',
    String(window.lengthSec),
    '-i',
    `file:${sourcePath}`,
    '-filter_complex',
    graph,
    '-map',
    '[clip]',
    '-an',
    '-sn',
    '-dn',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-profile:v',
    'high',
    '-crf',
    '26',
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    '-map_metadata',
    '-1',
    '-f',
    'mp4',
    clipOut,
    '-map',
    '[gif]',
    '-loop',
    '0',
    '-f',
    'gif',
    gifOut,
  ];
}
