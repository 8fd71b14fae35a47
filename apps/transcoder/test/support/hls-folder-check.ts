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
