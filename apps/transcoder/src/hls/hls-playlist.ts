import fs from 'node:fs/promises';
import path from 'node:path';
import { HLS_MASTER_PLAYLIST } from '../output-paths.ts';

/** The URIs of a playlist (its non-comment lines), in order. */
export function playlistUris(playlist: string): string[] {
  return playlist
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

/** Sum of a media playlist's `#EXTINF` durations, seconds. */
export function playlistDurationSec(playlist: string): number {
  let total = 0;
  for (const match of playlist.matchAll(/^#EXTINF:([0-9.]+)/gm)) total += Number(match[1]);
  return total;
}

export interface HlsFolderSummary {
  variants: { playlist: string; segments: number; durationSec: number }[];
}

/**
 * Checks a finished HLS folder before it is published: the master playlist names at least one
 * variant, every variant playlist is complete (`#EXT-X-ENDLIST`, at least one segment) and every
 * segment it names exists and is not empty. Throws with what is wrong.
 */
export async function checkHlsFolder(dir: string): Promise<HlsFolderSummary> {
  const master = await fs.readFile(path.join(dir, HLS_MASTER_PLAYLIST), 'utf8');
  const variantUris = playlistUris(master);
  if (!master.startsWith('#EXTM3U') || variantUris.length === 0) {
    throw new Error('ffmpeg wrote a master playlist without variants');
  }
  const variants: HlsFolderSummary['variants'] = [];
  for (const uri of variantUris) {
    const file = path.join(dir, uri);
    const playlist = await fs.readFile(file, 'utf8');
    const segments = playlistUris(playlist);
    if (!playlist.includes('#EXT-X-ENDLIST') || segments.length === 0) {
      throw new Error(`ffmpeg wrote an incomplete playlist ${uri}`);
    }
    for (const segment of segments) {
      const stat = await fs.stat(path.join(path.dirname(file), segment));
      if (stat.size === 0) throw new Error(`ffmpeg wrote an empty segment ${segment}`);
    }
    variants.push({ playlist: uri, segments: segments.length, durationSec: playlistDurationSec(playlist) });
  }
  return { variants };
}
