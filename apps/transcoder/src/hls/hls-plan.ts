import type { SourceFacts } from '../source-facts.ts';

/**
 * How a source becomes HLS. Pure: facts in, plan and ffmpeg arguments out.
 *
 * - Remux (`-c:v copy`): H.264 in 8-bit 4:2:0 that needs no rotation and fits 1080p. Browsers and
 *   phones play it as it is, so the video is only repackaged into MPEG-TS segments, cut on its own
 *   keyframes. AAC audio is copied too; other audio (MP3, Opus, AC-3) is re-encoded to AAC, which is
 *   cheap, instead of re-encoding the whole video.
 * - Transcode (libx264 veryfast + AAC): everything else (HEVC, VP9, AV1, ProRes, MPEG-2, 10-bit or
 *   4:2:2 H.264, rotated video: a TS segment cannot carry a display matrix, so rotation is applied
 *   to the pixels). Renditions: the source size capped at 1080p, plus 720p when the source is
 *   clearly larger than that; never upscaled. Keyframes every 4 s, so segments are 4 s.
 */

export const HLS_SEGMENT_SECONDS = 4;

export interface Size {
  width: number;
  height: number;
}

/** A bounding box by long and short side, so that it fits portrait and landscape alike. */
export interface Box {
  long: number;
  short: number;
}

export const BOX_1080P: Box = { long: 1920, short: 1080 };
export const BOX_720P: Box = { long: 1280, short: 720 };

/** A second rendition is only worth it when the first has at least this many times its pixels. */
const SECOND_RENDITION_MIN_PIXEL_RATIO = 1.5;
/** Frame rates above this are reduced to it when transcoding (slow-motion phone clips). */
const MAX_FPS = 60;

const REMUX_VIDEO_CODECS = new Set(['h264']);
const REMUX_PIXEL_FORMATS = new Set(['yuv420p', 'yuvj420p']);
const COPY_AUDIO_CODECS = new Set(['aac']);

export interface Rendition extends Size {
  /** Folder and variant name: `v0`, `v1`. */
  name: string;
  /** Peak video bitrate for the encoder (transcode only), kbit/s. */
  maxrateKbps: number | null;
}

export interface HlsPlan {
  mode: 'remux' | 'transcode';
  audio: 'copy' | 'encode' | 'none';
  renditions: Rendition[];
  /** Why this mode, for logs and the manifest. */
  reason: string;
}

function floorEven(n: number): number {
  return Math.max(2, 2 * Math.floor(n / 2));
}

export function fitsInBox(size: Size, box: Box): boolean {
  return Math.max(size.width, size.height) <= box.long && Math.min(size.width, size.height) <= box.short;
}

/** The largest even size with the same aspect that fits `box`; never larger than `size`. */
export function fitInBox(size: Size, box: Box): Size {
  const landscape = size.width >= size.height;
  const maxWidth = landscape ? box.long : box.short;
  const maxHeight = landscape ? box.short : box.long;
  const scale = Math.min(1, maxWidth / size.width, maxHeight / size.height);
  return { width: floorEven(size.width * scale), height: floorEven(size.height * scale) };
}

/** Peak bitrate by size: 6 Mbit/s at 1080p, 3 at 720p, less below. */
export function maxrateKbps(size: Size): number {
  const short = Math.min(size.width, size.height);
  if (short >= 1000) return 6000;
  if (short >= 700) return 3000;
  if (short >= 460) return 1500;
  return 800;
}

/** Transcode renditions: source capped at 1080p, plus 720p when the source is clearly larger. */
export function renditionSizes(display: Size): Size[] {
  const top = fitInBox(display, BOX_1080P);
  const sizes = [top];
  if (!fitsInBox(display, BOX_720P)) {
    const low = fitInBox(display, BOX_720P);
    if (top.width * top.height >= SECOND_RENDITION_MIN_PIXEL_RATIO * low.width * low.height) sizes.push(low);
  }
  return sizes;
}

function remuxBlocker(facts: SourceFacts): string | undefined {
  const v = facts.video;
  if (!REMUX_VIDEO_CODECS.has(v.codec)) return `video codec ${v.codec} is not H.264`;
  if (!REMUX_PIXEL_FORMATS.has(v.pixFmt ?? ''))
    return `pixel format ${v.pixFmt ?? 'unknown'} is not 8-bit 4:2:0`;
  if (v.rotation !== 0) return `video is rotated ${v.rotation} degrees`;
  if (!fitsInBox(v, BOX_1080P)) return `video is ${v.width}x${v.height}, larger than 1080p`;
  return undefined;
}

export function planHls(facts: SourceFacts): HlsPlan {
  const blocker = remuxBlocker(facts);
  if (!blocker) {
    const audio = !facts.audio ? 'none' : COPY_AUDIO_CODECS.has(facts.audio.codec) ? 'copy' : 'encode';
    const v = facts.video;
    return {
      mode: 'remux',
      audio,
      renditions: [{ name: 'v0', width: v.displayWidth, height: v.displayHeight, maxrateKbps: null }],
      reason:
        audio === 'encode'
          ? `H.264 video is copied; ${facts.audio?.codec} audio is re-encoded to AAC`
          : 'H.264 video and AAC or no audio are copied',
    };
  }
  return {
    mode: 'transcode',
    audio: facts.audio ? 'encode' : 'none',
    renditions: renditionSizes({ width: facts.video.displayWidth, height: facts.video.displayHeight }).map(
      (size, i) => ({ name: `v${i}`, ...size, maxrateKbps: maxrateKbps(size) }),
    ),
    reason: blocker,
  };
}

/**
 * The ffmpeg arguments (after the common flags) that write `v<N>/index.m3u8` and
 * `v<N>/seg<NNNNN>.ts` into the working directory. Output paths are relative on purpose: a `%` in
 * the absolute folder would be read as a pattern by the HLS muxer. No master playlist: ffmpeg 5.1
 * leaves variants without a declared bitrate out of it, so `master.m3u8` is written afterwards from
 * the variant playlists (hls-playlist.ts).
 */
export function hlsFfmpegArgs(sourcePath: string, facts: SourceFacts, plan: HlsPlan): string[] {
  const v = facts.video;
  const a = facts.audio;
  const args = ['-i', `file:${sourcePath}`];
  const hasAudio = plan.audio !== 'none' && a !== null;
  const audioArgs =
    plan.audio === 'encode' ? ['-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000'] : [];

  if (plan.mode === 'remux') {
    args.push('-map', `0:${v.index}`);
    if (hasAudio) args.push('-map', `0:${a.index}`);
    args.push('-c:v', 'copy', ...(plan.audio === 'copy' ? ['-c:a', 'copy'] : audioArgs));
  } else {
    const n = plan.renditions.length;
    const fps = v.fps !== null && v.fps > MAX_FPS + 1 ? `,fps=${MAX_FPS}` : '';
    const scaled = plan.renditions.map(
      (r, i) => `[s${i}]scale=${r.width}:${r.height}:flags=bicubic,setsar=1,format=yuv420p${fps}[${r.name}]`,
    );
    const split = n > 1 ? `split=${n}${plan.renditions.map((_, i) => `[s${i}]`).join('')}` : 'null[s0]';
    args.push('-filter_complex', [`[0:${v.index}]${split}`, ...scaled].join(';'));
    plan.renditions.forEach((r, i) => {
      args.push('-map', `[${r.name}]`);
      if (hasAudio) args.push('-map', `0:${a.index}`);
      const bitrate = r.maxrateKbps ?? maxrateKbps(r);
      args.push(`-maxrate:v:${i}`, `${bitrate}k`, `-bufsize:v:${i}`, `${bitrate * 2}k`);
    });
    args.push(
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-profile:v',
      'high',
      '-crf',
      '21',
      '-force_key_frames',
      `expr:gte(t,n_forced*${HLS_SEGMENT_SECONDS})`,
      ...audioArgs,
    );
  }

  const streamMap = plan.renditions.map((_, i) => (hasAudio ? `v:${i},a:${i}` : `v:${i}`)).join(' ');
  args.push(
    '-f',
    'hls',
    '-hls_time',
    String(HLS_SEGMENT_SECONDS),
    '-hls_playlist_type',
    'vod',
    '-hls_flags',
    'independent_segments',
    '-hls_segment_type',
    'mpegts',
    '-hls_segment_filename',
    'v%v/seg%05d.ts',
    '-var_stream_map',
    streamMap,
    'v%v/index.m3u8',
  );
  return args;
}
