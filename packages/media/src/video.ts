import { rename, rm, writeFile } from 'node:fs/promises';
import { parseCameraDate } from './exif-date.ts';
import { ffmpegInput, grabFrame } from './ffmpeg-frame.ts';
import { parseIso6709 } from './iso6709.ts';
import { errorMessage, MediaError, MediaTimeoutError } from './media-error.ts';
import { temporaryPathFor } from './temporary-path.ts';
import { runTool } from './tool-process.ts';

/** Facts about a video, from ffprobe. */
export interface VideoProbe {
  durationSec: number | null;
  /** Coded size of the first video stream (before rotation). */
  width: number | null;
  height: number | null;
  /** Clockwise degrees to rotate for display (0, 90, 180, 270), as exiftool's Rotation. */
  rotation: number;
  videoCodec: string | null;
  audioCodec: string | null;
  /** ISO-8601 UTC instant the clip was recorded, or null. */
  creationTime: string | null;
  /** Local offset of the recording when the file says it (Apple's creationdate), else null. */
  creationTimeOffset: string | null;
  pixFmt: string | null;
  /** Overall bit rate, bits/s. */
  bitRate: number | null;
  formatName: string | null;
  make: string | null;
  model: string | null;
  gpsLat: number | null;
  gpsLon: number | null;
  gpsAlt: number | null;
}

export interface ProbeVideoOptions {
  /** ms; default 20 000. */
  timeoutMs?: number;
  ffprobePath?: string;
}

type Json = Record<string, unknown>;

function record(value: unknown): Json {
  return value !== null && typeof value === 'object' ? (value as Json) : {};
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

function positiveNumber(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** `00:00:13.346000000` (Matroska DURATION tag) -> 13.346. */
function clockSeconds(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const match = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value.trim());
  if (!match) return null;
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
}

/** Tag lookup ignoring case (Matroska writes DURATION, MP4 creation_time). */
function tag(tags: Json, name: string): unknown {
  const key = Object.keys(tags).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : tags[key];
}

/** A container date that is really "unset": the QuickTime (1904) and Unix (1970) epochs. */
function isEpochPlaceholder(instant: string): boolean {
  return instant.startsWith('1904-01-01') || instant.startsWith('1970-01-01');
}

/** Builds a VideoProbe from ffprobe's `-show_format -show_streams` JSON. Exported for tests. */
export function videoProbeFromFfprobe(output: unknown): VideoProbe {
  const root = record(output);
  const format = record(root.format);
  const formatTags = record(format.tags);
  const streams = Array.isArray(root.streams) ? root.streams.map(record) : [];
  const video = streams.find(
    (stream) => stream.codec_type === 'video' && record(stream.disposition).attached_pic !== 1,
  );
  const audio = streams.find((stream) => stream.codec_type === 'audio');
  const videoTags = record(video?.tags);

  let rotation = 0;
  const sideData = Array.isArray(video?.side_data_list) ? video.side_data_list.map(record) : [];
  const matrix = sideData.find((entry) => typeof entry.rotation === 'number');
  if (matrix) rotation = -(matrix.rotation as number);
  else if (tag(videoTags, 'rotate') !== undefined) rotation = Number(tag(videoTags, 'rotate')) || 0;
  rotation = (((Math.round(rotation / 90) * 90) % 360) + 360) % 360;

  let creationTime: string | null = null;
  let creationTimeOffset: string | null = null;
  const appleDate = parseCameraDate(tag(formatTags, 'com.apple.quicktime.creationdate'));
  if (appleDate) {
    creationTime = appleDate.instant;
    creationTimeOffset = appleDate.offset;
  } else {
    // QuickTime/MP4/Matroska creation_time is UTC by specification; the local offset is unknown.
    for (const candidate of [tag(formatTags, 'creation_time'), tag(videoTags, 'creation_time')]) {
      const parsed = parseCameraDate(
        typeof candidate === 'string' ? candidate.replace(/Z?$/i, 'Z') : candidate,
      );
      if (parsed && !isEpochPlaceholder(parsed.instant)) {
        creationTime = parsed.instant;
        break;
      }
    }
  }

  const location =
    parseIso6709(tag(formatTags, 'com.apple.quicktime.location.ISO6709')) ??
    parseIso6709(tag(formatTags, 'location')) ??
    parseIso6709(tag(formatTags, 'location-eng'));

  return {
    durationSec:
      positiveNumber(format.duration) ??
      positiveNumber(video?.duration) ??
      clockSeconds(tag(videoTags, 'DURATION')) ??
      null,
    width: positiveNumber(video?.width),
    height: positiveNumber(video?.height),
    rotation,
    videoCodec: str(video?.codec_name),
    audioCodec: str(audio?.codec_name),
    creationTime,
    creationTimeOffset,
    pixFmt: str(video?.pix_fmt),
    bitRate: positiveNumber(format.bit_rate),
    formatName: str(format.format_name),
    make:
      str(tag(formatTags, 'com.apple.quicktime.make')) ?? str(tag(formatTags, 'com.android.manufacturer')),
    model: str(tag(formatTags, 'com.apple.quicktime.model')) ?? str(tag(formatTags, 'com.android.model')),
    gpsLat: location?.lat ?? null,
    gpsLon: location?.lon ?? null,
    gpsAlt: location?.alt ?? null,
  };
}

/** ffprobe's arguments for the `-show_format -show_streams` JSON of one file. */
export function ffprobeJsonArgs(absPath: string): string[] {
  return [
    '-hide_banner',
    ...['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams'],
    ffmpegInput(absPath),
  ];
}

/** Runs ffprobe on a video. Throws a MediaError naming the file when it is not a readable video. */
export async function probeVideo(absPath: string, options: ProbeVideoOptions = {}): Promise<VideoProbe> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  let stdout: string;
  try {
    const result = await runTool(options.ffprobePath ?? 'ffprobe', ffprobeJsonArgs(absPath), {
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      stdin: 'ignore',
      maxBuffer: 16 * 1024 * 1024,
    });
    stdout = result.stdout;
  } catch (error) {
    if ((error as { timedOut?: boolean }).timedOut)
      throw new MediaTimeoutError('ffprobe', absPath, timeoutMs);
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new MediaError('ffprobe', absPath, stderr.split('\n').slice(-1)[0] || errorMessage(error), {
      cause: error,
    });
  }
  const probe = videoProbeFromFfprobe(JSON.parse(stdout));
  if (probe.width === null || probe.height === null)
    throw new MediaError('ffprobe', absPath, 'no video stream');
  return probe;
}

export interface ExtractVideoFrameOptions {
  /** Where to take the frame, s; default 3. Clips shorter than that give their first frame. */
  atSec?: number;
  /** The clip's duration when known (saves a failed seek on short clips). */
  durationSec?: number | null;
  /** Longest side of the frame, px; default 1440. */
  maxLongSide?: number;
  /** ms per ffmpeg run; default 30 000. */
  timeoutMs?: number;
  ffmpegPath?: string;
}

/**
 * The frame at `atSec` (3 s), or the first frame of shorter clips, as JPEG bytes, rotated for
 * display (ffmpeg autorotates by default).
 */
export async function videoFrame(
  absPath: string,
  options: ExtractVideoFrameOptions = {},
): Promise<{ jpeg: Buffer; atSec: number }> {
  const wanted = options.atSec ?? 3;
  const short = options.durationSec != null && options.durationSec <= wanted;
  const frameOptions = {
    maxLongSide: options.maxLongSide ?? 1440,
    timeoutMs: options.timeoutMs ?? 30_000,
    ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
  };
  if (!short && wanted > 0) {
    const frame = await grabFrame(absPath, { ...frameOptions, atSec: wanted });
    if (frame) return { jpeg: frame, atSec: wanted };
  }
  const first = await grabFrame(absPath, { ...frameOptions, atSec: 0 });
  if (!first) throw new MediaError('video frame', absPath, 'ffmpeg produced no frame');
  return { jpeg: first, atSec: 0 };
}

/** Writes the frame chosen by videoFrame to `outJpeg` (atomically: temporary file, then rename). */
export async function extractVideoFrame(
  absPath: string,
  outJpeg: string,
  options: ExtractVideoFrameOptions = {},
): Promise<{ atSec: number }> {
  const { jpeg, atSec } = await videoFrame(absPath, options);
  const temporary = temporaryPathFor(outJpeg);
  try {
    await writeFile(temporary, jpeg);
    await rename(temporary, outJpeg);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new MediaError('video frame', absPath, `cannot write ${outJpeg}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  return { atSec };
}
