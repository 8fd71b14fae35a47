import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * What a player would find in an HLS folder right now: `absent`, `complete` (master, every variant
 * playlist finished with all its segments), or `partial` with what is missing. Written independently
 * of the transcoder's own check, to judge it.
 */
export async function hlsFolderState(dir: string): Promise<'absent' | 'complete' | `partial: ${string}`> {
  let master: string;
  try {
    await fs.stat(dir);
  } catch {
    return 'absent';
  }
  try {
    master = await fs.readFile(path.join(dir, 'master.m3u8'), 'utf8');
  } catch {
    return 'partial: no master playlist';
  }
  const uris = (text: string) =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
  const variants = uris(master);
  if (variants.length === 0) return 'partial: master names no variant';
  for (const variant of variants) {
    let playlist: string;
    try {
      playlist = await fs.readFile(path.join(dir, variant), 'utf8');
    } catch {
      return `partial: no ${variant}`;
    }
    if (!playlist.includes('#EXT-X-ENDLIST')) return `partial: ${variant} unfinished`;
    for (const segment of uris(playlist)) {
      const stat = await fs.stat(path.join(dir, path.dirname(variant), segment)).catch(() => undefined);
      if (!stat?.size) return `partial: ${segment} missing`;
    }
  }
  return 'complete';
}

export interface MasterEntry {
  /** The `#EXT-X-STREAM-INF` attributes, quotes removed: `{ BANDWIDTH: '800000', CODECS: 'avc1.42c00d' }`. */
  attributes: Record<string, string>;
  uri: string;
}

/** The variants a master playlist offers, as a player reads them. */
export function masterEntries(master: string): MasterEntry[] {
  const lines = master.split('\n').map((l) => l.trim());
  const entries: MasterEntry[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith('#EXT-X-STREAM-INF:')) return;
    const attributes: Record<string, string> = {};
    for (const match of line.slice('#EXT-X-STREAM-INF:'.length).matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) {
      attributes[match[1] ?? ''] = (match[2] ?? '').replace(/^"|"$/g, '');
    }
    entries.push({ attributes, uri: lines[i + 1] ?? '' });
  });
  return entries;
}

/** Bitrates of a variant playlist's segments on disk: peak segment and overall, bit/s. */
export async function measuredBitrates(variantPlaylist: string): Promise<{ peak: number; average: number }> {
  const text = await fs.readFile(variantPlaylist, 'utf8');
  let peak = 0;
  let bits = 0;
  let seconds = 0;
  let extinf = 0;
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line.startsWith('#EXTINF:')) extinf = Number(line.slice(8).split(',')[0]);
    else if (line && !line.startsWith('#')) {
      const size = (await fs.stat(path.join(path.dirname(variantPlaylist), line))).size;
      peak = Math.max(peak, (size * 8) / extinf);
      bits += size * 8;
      seconds += extinf;
    }
  }
  return { peak, average: bits / seconds };
}
