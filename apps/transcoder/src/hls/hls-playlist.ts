import fs from 'node:fs/promises';
import path from 'node:path';
import { HLS_MASTER_PLAYLIST } from '@lumen/video';

/**
 * The variant playlists ffmpeg writes are checked here, and the master playlist is written from
 * them. ffmpeg's own master is not used: ffmpeg 5.1 leaves a variant out when its streams declare
 * no bitrate ("Bandwidth info not available", e.g. H.264 copied from MKV), so BANDWIDTH is measured
 * from the segments instead.
 */

/** The URIs of a playlist (its non-comment lines), in order. */
export function playlistUris(playlist: string): string[] {
  return playlist
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

export interface MediaSegment {
  uri: string;
  /** From the `#EXTINF` before the URI, seconds. */
  durationSec: number;
}

/** The segments of a media playlist with their `#EXTINF` durations. Throws for a URI without one. */
export function mediaSegments(playlist: string): MediaSegment[] {
  const segments: MediaSegment[] = [];
  let durationSec: number | undefined;
  for (const raw of playlist.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#EXTINF:')) {
      durationSec = Number.parseFloat(line.slice('#EXTINF:'.length));
    } else if (line.length > 0 && !line.startsWith('#')) {
      if (durationSec === undefined || !Number.isFinite(durationSec) || durationSec < 0) {
        throw new Error(`segment ${line} has no #EXTINF duration`);
      }
      segments.push({ uri: line, durationSec });
      durationSec = undefined;
    }
  }
  return segments;
}

export interface VariantBitrate {
  /** Highest segment bitrate (`BANDWIDTH`), bit/s. */
  peakBps: number;
  /** Total bits over total duration (`AVERAGE-BANDWIDTH`), bit/s. */
  averageBps: number;
}

/**
 * Bitrates of a variant from its segments' sizes and durations: peak = max over segments of
 * bytes * 8 / duration, average = total bytes * 8 / total duration; rounded up to whole bit/s.
 * A segment of zero duration counts toward the average only. Throws when the total is not positive.
 */
export function variantBitrate(segments: { bytes: number; durationSec: number }[]): VariantBitrate {
  let bytes = 0;
  let durationSec = 0;
  let peak = 0;
  for (const segment of segments) {
    bytes += segment.bytes;
    durationSec += segment.durationSec;
    if (segment.durationSec > 0) peak = Math.max(peak, (segment.bytes * 8) / segment.durationSec);
  }
  if (!(durationSec > 0) || !(bytes > 0)) throw new Error('a variant needs segments with bytes and duration');
  return { peakBps: Math.ceil(peak), averageBps: Math.ceil((bytes * 8) / durationSec) };
}

export interface MasterVariant extends VariantBitrate {
  /** Relative to the master: `v0/index.m3u8`. */
  playlist: string;
  width: number;
  height: number;
  /** `avc1.64001f,mp4a.40.2`; null leaves CODECS out (a wrong one is worse than none). */
  codecs: string | null;
}

/** The master playlist text: one `#EXT-X-STREAM-INF` and URI per variant, in the order given. */
export function masterPlaylist(variants: MasterVariant[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const v of variants) {
    const attributes = [
      `BANDWIDTH=${v.peakBps}`,
      `AVERAGE-BANDWIDTH=${v.averageBps}`,
      `RESOLUTION=${v.width}x${v.height}`,
      ...(v.codecs ? [`CODECS="${v.codecs}"`] : []),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, v.playlist);
  }
  return `${lines.join('\n')}\n`;
}

export interface VariantSummary extends VariantBitrate {
  /** Relative to the HLS folder: `v0/index.m3u8`. */
  playlist: string;
  segments: number;
  /** Sum of the `#EXTINF` durations, seconds. */
  durationSec: number;
  /** Absolute path of the first segment. */
  firstSegment: string;
}

/**
 * Checks one variant playlist ffmpeg wrote into `dir`: complete (`#EXT-X-ENDLIST`, at least one
 * segment), every segment it names exists and is not empty. Measures its bitrates. Throws with what
 * is wrong.
 */
export async function checkVariant(dir: string, playlist: string): Promise<VariantSummary> {
  const file = path.join(dir, playlist);
  const text = await fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new Error(`ffmpeg wrote no playlist ${playlist}`) : err;
  });
  const segments = mediaSegments(text);
  if (!text.includes('#EXT-X-ENDLIST') || segments.length === 0) {
    throw new Error(`ffmpeg wrote an incomplete playlist ${playlist}`);
  }
  const measured: { bytes: number; durationSec: number }[] = [];
  for (const segment of segments) {
    const stat = await fs.stat(path.join(path.dirname(file), segment.uri));
    if (stat.size === 0) throw new Error(`ffmpeg wrote an empty segment ${segment.uri}`);
    measured.push({ bytes: stat.size, durationSec: segment.durationSec });
  }
  return {
    playlist,
    segments: segments.length,
    durationSec: measured.reduce((sum, s) => sum + s.durationSec, 0),
    ...variantBitrate(measured),
    firstSegment: path.join(path.dirname(file), segments[0]?.uri ?? ''),
  };
}

/** Writes `master.m3u8` into `dir`. */
export async function writeMasterPlaylist(dir: string, variants: MasterVariant[]): Promise<void> {
  await fs.writeFile(path.join(dir, HLS_MASTER_PLAYLIST), masterPlaylist(variants));
}

/** The first `maxBytes` of a file. */
export async function readHead(file: string, maxBytes: number): Promise<Uint8Array> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(maxBytes);
    const { bytesRead } = await handle.read(buffer, 0, maxBytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
