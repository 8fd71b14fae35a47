import { runCuts, type StreamPlan, segmentFileName } from '@lumen/core';

/**
 * ffmpeg arguments of one segment run: from the start of segment `from` of one rendition to the end
 * of the stream, as `seg<NNNNN>.ts` files (numbered from `from`) in the working directory. Pure.
 *
 * Timing: the run seeks to the segment's start (`-ss` before `-i`: fast, and exact when
 * transcoding), and `-output_ts_offset` puts its first frame back at that start plus
 * TS_OFFSET_BASE_SEC, so every run writes the same timestamps for the same frame and segments of
 * different runs join without gap or overlap. The segment muxer cuts at the plan's segment starts
 * (`-segment_times`, absolute output times); when transcoding, keyframes are forced there.
 */

/**
 * Added to every timestamp. A run from 0 would otherwise start with negative decode times (B-frames,
 * AAC priming) that ffmpeg shifts away, moving its frames against the other runs'.
 */
export const TS_OFFSET_BASE_SEC = 1;
const MAX_FPS = 60;
/** A cut happens at the first keyframe at most this much before the cut time (rounding only). */
const CUT_TOLERANCE_SEC = 0.005;

function sec(n: number): string {
  return String(Math.round(n * 1e6) / 1e6);
}

export function segmentRunArgs(
  plan: StreamPlan,
  renditionName: string,
  from: number,
  sourcePath = plan.sourcePath,
): string[] {
  const rendition = plan.renditions.find((r) => r.name === renditionName);
  if (!rendition) throw new RangeError(`the stream has no rendition ${renditionName}`);
  const segments = plan.segments.map((s, index) => ({ index, ...s }));
  const { seekSec, cutsSec } = runCuts(segments, from);
  const args: string[] = [];
  if (seekSec > 0) args.push('-ss', sec(seekSec));
  args.push('-i', `file:${sourcePath}`, '-map', `0:${plan.videoIndex}`);
  if (plan.audioIndex !== null) args.push('-map', `0:${plan.audioIndex}`);

  if (plan.mode === 'remux') {
    args.push('-c:v', 'copy');
  } else {
    const fps = plan.fps !== null && plan.fps > MAX_FPS + 1 ? `,fps=${MAX_FPS}` : '';
    const maxrate = rendition.maxrateKbps ?? 800;
    args.push(
      '-vf',
      `scale=${rendition.width}:${rendition.height}:flags=bicubic,setsar=1,format=yuv420p${fps}`,
      '-c:v',
      'libx264',
      '-preset',
      rendition.preset ?? 'veryfast',
      '-profile:v',
      'high',
      '-crf',
      '21',
      '-maxrate',
      `${maxrate}k`,
      '-bufsize',
      `${maxrate * 2}k`,
      '-force_key_frames',
      ['0', ...cutsSec.map(sec)].join(','),
    );
  }
  if (plan.audioIndex !== null) {
    if (plan.audio === 'copy') args.push('-c:a', 'copy');
    else args.push('-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000');
  }
  args.push(
    '-output_ts_offset',
    sec(seekSec + TS_OFFSET_BASE_SEC),
    '-f',
    'segment',
    '-segment_format',
    'mpegts',
    ...(cutsSec.length > 0
      ? ['-segment_times', cutsSec.map((c) => sec(seekSec + TS_OFFSET_BASE_SEC + c)).join(',')]
      : ['-segment_time', '1000000']),
    '-segment_time_delta',
    String(CUT_TOLERANCE_SEC),
    '-segment_start_number',
    String(from),
    `seg%05d.ts`,
  );
  return args;
}

/** The file name a run writes for segment `index` (the same as in the store). */
export const runSegmentName = segmentFileName;
