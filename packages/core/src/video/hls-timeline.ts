/**
 * The timeline of an HLS stream made on demand: which segments it has (known before any is made),
 * the playlists that list them, and where an ffmpeg run must cut. Pure: ffprobe facts in, numbers
 * and text out.
 *
 * Transcoded renditions get fixed-length segments (keyframes are forced at their starts); the copy
 * path cuts on the source's own keyframes. Either way segment N starts at the same instant in every
 * run, so segments made by different runs join without a gap or an overlap.
 */

/** Target segment length of the copy path (cut on the source's keyframes, costs nothing), seconds. */
export const HLS_SEGMENT_SECONDS = 4;
/**
 * Segment length of transcoded renditions, seconds. A segment is what a viewer waits for after a
 * request or a seek: the ffmpeg run must decode up to it and encode all of it first. On 2 cores a
 * 1080p HEVC source gives 2 s segments in about 0.8 s from the start and 1.4 s after a seek (4 s
 * segments: 1.6 s and 3.2 s), see docs/decisions.md "Instant video: 2 s segments".
 */
export const TRANSCODE_SEGMENT_SECONDS = 2;
/** A last segment shorter than this is merged into the one before it (no sliver segments). */
export const MIN_TAIL_SECONDS = 1;
/** Segment numbers are written with five digits. */
export const MAX_SEGMENTS = 100_000;

export interface HlsSegment {
  index: number;
  /** Presentation start in the source's timeline, seconds. */
  startSec: number;
  durationSec: number;
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

function fromStarts(starts: number[], durationSec: number): HlsSegment[] {
  if (starts.length > MAX_SEGMENTS) throw new RangeError(`a stream of ${starts.length} segments is too long`);
  return starts.map((startSec, index) => ({
    index,
    startSec: round6(startSec),
    durationSec: round6((starts[index + 1] ?? durationSec) - startSec),
  }));
}

function assertDuration(durationSec: number): void {
  if (!Number.isFinite(durationSec) || durationSec <= 0) {
    throw new RangeError(`a stream needs a positive duration, not ${durationSec}`);
  }
}

/** Segments of `segmentSec` from 0 to `durationSec`; a tail under MIN_TAIL_SECONDS joins the last one. */
export function fixedSegments(durationSec: number, segmentSec = HLS_SEGMENT_SECONDS): HlsSegment[] {
  assertDuration(durationSec);
  if (!(segmentSec > 0)) throw new RangeError('segmentSec must be positive');
  const starts = [0];
  for (let t = segmentSec; durationSec - t >= MIN_TAIL_SECONDS - 1e-9; t += segmentSec) {
    starts.push(t);
    if (starts.length > MAX_SEGMENTS) break;
  }
  return fromStarts(starts, durationSec);
}

/**
 * Segments cut on keyframes (the copy path): each starts at a keyframe, the next cut is the first
 * keyframe at least `targetSec` after the current start, and no cut leaves a tail under
 * MIN_TAIL_SECONDS. `keyframesSec` are the keyframe times relative to the stream start (any order;
 * the first segment always starts at 0).
 */
export function keyframeSegments(
  keyframesSec: readonly number[],
  durationSec: number,
  targetSec = HLS_SEGMENT_SECONDS,
): HlsSegment[] {
  assertDuration(durationSec);
  const keyframes = [...new Set(keyframesSec.map(round6))]
    .filter((t) => Number.isFinite(t) && t > 0 && t < durationSec)
    .sort((a, b) => a - b);
  const starts = [0];
  for (const t of keyframes) {
    const last = starts[starts.length - 1] as number;
    if (t - last >= targetSec - 1e-6 && durationSec - t >= MIN_TAIL_SECONDS - 1e-9) starts.push(t);
  }
  return fromStarts(starts, durationSec);
}

/** `seg00042.ts` */
export function segmentFileName(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_SEGMENTS) {
    throw new RangeError(`no segment number ${index}`);
  }
  return `seg${String(index).padStart(5, '0')}.ts`;
}

/** The number in `seg00042.ts`; undefined for any other name. */
export function segmentIndexOf(fileName: string): number | undefined {
  const match = /^seg([0-9]{5})\.ts$/.exec(fileName);
  return match ? Number(match[1]) : undefined;
}

/** `#EXT-X-TARGETDURATION`: the longest segment, rounded to the nearest second (RFC 8216 4.3.3.1). */
export function targetDuration(segments: readonly HlsSegment[]): number {
  return Math.max(1, ...segments.map((s) => Math.round(s.durationSec)));
}

/**
 * A VOD media playlist listing every segment, complete (`#EXT-X-ENDLIST`) from the start: the
 * player sees the whole duration and can seek anywhere at once.
 */
export function mediaPlaylist(segments: readonly HlsSegment[], uriOf: (index: number) => string): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:6',
    `#EXT-X-TARGETDURATION:${targetDuration(segments)}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  for (const s of segments) lines.push(`#EXTINF:${s.durationSec.toFixed(6)},`, uriOf(s.index));
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

export interface MasterVariant {
  uri: string;
  /** Peak bit/s (`BANDWIDTH`). */
  bandwidth: number;
  width: number;
  height: number;
  /** `CODECS`, left out when null (a wrong one is worse than none). */
  codecs: string | null;
}

/** The master playlist: one `#EXT-X-STREAM-INF` per variant, in the order given. */
export function masterPlaylist(variants: readonly MasterVariant[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const v of variants) {
    const attributes = [
      `BANDWIDTH=${Math.ceil(v.bandwidth)}`,
      `RESOLUTION=${v.width}x${v.height}`,
      ...(v.codecs ? [`CODECS="${v.codecs}"`] : []),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, v.uri);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * What one ffmpeg run that starts at segment `from` needs: its seek time, and the times where it
 * must cut (the starts of the following segments) relative to the seek, for `-segment_times` and
 * `-force_key_frames`.
 */
export function runCuts(
  segments: readonly HlsSegment[],
  from: number,
): { seekSec: number; cutsSec: number[] } {
  const first = segments[from];
  if (!first) throw new RangeError(`no segment ${from} in a stream of ${segments.length}`);
  return {
    seekSec: first.startSec,
    cutsSec: segments.slice(from + 1).map((s) => round6(s.startSec - first.startSec)),
  };
}

/** Bit/s a variant is announced with before any segment exists: its peak rate plus the audio. */
export function announcedBandwidth(videoKbps: number, audioKbps: number): number {
  return Math.ceil((videoKbps + audioKbps) * 1000 * 1.1);
}
