import { type RunFfprobeOptions, runFfprobe, runFfprobeArgs } from './ffmpeg-process.ts';

/**
 * What the transcoder needs to know about a source, from ffprobe: which streams to map, whether
 * they can be copied, and the size the video is displayed at (rotation and pixel aspect applied).
 */
export interface SourceFacts {
  durationSec: number | null;
  video: {
    /** Absolute stream index (for `-map 0:<index>`); cover art is never chosen. */
    index: number;
    codec: string;
    profile: string | null;
    pixFmt: string | null;
    /** Coded size. */
    width: number;
    height: number;
    /** Size as displayed: pixel aspect ratio applied, then swapped for 90/270 degree rotation. */
    displayWidth: number;
    displayHeight: number;
    /** Rotation from the display matrix or `rotate` tag, normalised to 0, 90, 180 or 270. */
    rotation: 0 | 90 | 180 | 270;
    /** Average frame rate, when known. */
    fps: number | null;
  };
  /** `profile`: ffprobe's name for it (`LC`, `HE-AAC` for AAC), when known. */
  audio: { index: number; codec: string; profile: string | null; channels: number | null } | null;
}

export class NoVideoStreamError extends Error {
  override name = 'NoVideoStreamError';
}

type Json = Record<string, unknown>;

function record(value: unknown): Json {
  return value !== null && typeof value === 'object' ? (value as Json) : {};
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' && value !== 'unknown' ? value.trim() : null;
}

function positive(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** `30000/1001` -> 29.97; `0/0` -> null. */
function ratio(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const [num, den] = value.split(/[/:]/).map(Number);
  if (num === undefined || den === undefined || !(num > 0) || !(den > 0)) return null;
  return num / den;
}

function rotationOf(stream: Json): SourceFacts['video']['rotation'] {
  const sideData = Array.isArray(stream.side_data_list) ? stream.side_data_list.map(record) : [];
  const matrix = sideData.find((entry) => typeof entry.rotation === 'number');
  const raw = matrix ? (matrix.rotation as number) : Number(record(stream.tags).rotate ?? 0) || 0;
  const quarter = (((Math.round(raw / 90) % 4) + 4) % 4) as 0 | 1 | 2 | 3;
  return ([0, 90, 180, 270] as const)[quarter];
}

/** Builds SourceFacts from ffprobe's `-show_format -show_streams` JSON. Throws NoVideoStreamError. */
export function sourceFactsFromFfprobe(output: unknown): SourceFacts {
  const root = record(output);
  const streams = Array.isArray(root.streams) ? root.streams.map(record) : [];
  const video = streams.find(
    (s) =>
      s.codec_type === 'video' &&
      record(s.disposition).attached_pic !== 1 &&
      text(s.codec_name) !== null &&
      positive(s.width) !== null &&
      positive(s.height) !== null,
  );
  if (!video) throw new NoVideoStreamError('the file has no decodable video stream');
  const audio = streams.find((s) => s.codec_type === 'audio' && text(s.codec_name) !== null);

  const width = positive(video.width) ?? 0;
  const height = positive(video.height) ?? 0;
  const sar = ratio(video.sample_aspect_ratio) ?? 1;
  const rotation = rotationOf(video);
  const shownWidth = Math.max(2, Math.round(width * sar));
  const sideways = rotation === 90 || rotation === 270;

  return {
    durationSec: positive(record(root.format).duration) ?? positive(video.duration),
    video: {
      index: Number(video.index ?? 0),
      codec: text(video.codec_name) ?? 'unknown',
      profile: text(video.profile),
      pixFmt: text(video.pix_fmt),
      width,
      height,
      displayWidth: sideways ? height : shownWidth,
      displayHeight: sideways ? shownWidth : height,
      rotation,
      fps: ratio(video.avg_frame_rate) ?? ratio(video.r_frame_rate),
    },
    audio: audio
      ? {
          index: Number(audio.index ?? 0),
          codec: text(audio.codec_name) ?? 'unknown',
          profile: text(audio.profile),
          channels: positive(audio.channels),
        }
      : null,
  };
}

/** Probes a source file (ffprobe with a timeout) and reads its facts. */
export async function probeSource(absPath: string, opts: RunFfprobeOptions = {}): Promise<SourceFacts> {
  return sourceFactsFromFfprobe(await runFfprobe(absPath, opts));
}

/**
 * The keyframe times of one video stream, seconds from its first packet (ffprobe reads packets
 * only, no decoding). For cutting copied video on its own keyframes.
 */
export async function probeKeyframes(
  absPath: string,
  streamIndex: number,
  opts: RunFfprobeOptions = {},
): Promise<number[]> {
  const output = await runFfprobeArgs(
    [
      '-v',
      'error',
      '-select_streams',
      String(streamIndex),
      '-show_entries',
      'packet=pts_time,flags',
      '-of',
      'csv=p=0',
      `file:${absPath}`,
    ],
    { timeoutMs: 120_000, ...opts },
  );
  let first = Number.POSITIVE_INFINITY;
  const keyframes: number[] = [];
  for (const line of output.split('\n')) {
    const [pts, flags] = line.trim().split(',');
    const t = Number.parseFloat(pts ?? '');
    if (!Number.isFinite(t)) continue;
    first = Math.min(first, t);
    if (flags?.startsWith('K')) keyframes.push(t);
  }
  return keyframes.map((t) => Math.round((t - first) * 1e6) / 1e6);
}
