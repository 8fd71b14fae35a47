import path from 'node:path';
import { HLS_FILE_PATTERN } from '@lumen/video';

/** A playlist names something that is not a file of its HLS folder: the output is not ours to serve. */
export class PlaylistRewriteError extends Error {
  override name = 'PlaylistRewriteError';
}

const URI_ATTRIBUTE = /URI="([^"]*)"/g;

/**
 * The file a URI of the playlist at `playlistPath` (relative to the HLS folder, e.g. `v0/index.m3u8`)
 * names, relative to the folder. Only relative URIs that stay in the folder and name an HLS file
 * (HLS_FILE_PATTERN) are accepted; the transcoder writes nothing else.
 */
export function hlsFileOf(uri: string, playlistPath: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith('/') || uri.includes('?') || uri.includes('#')) {
    throw new PlaylistRewriteError(
      `playlist ${playlistPath} names a URI that is not a relative file: ${uri}`,
    );
  }
  const file = path.posix.normalize(path.posix.join(path.posix.dirname(playlistPath), uri));
  if (!HLS_FILE_PATTERN.test(file)) {
    throw new PlaylistRewriteError(`playlist ${playlistPath} names a file outside its HLS folder: ${uri}`);
  }
  return file;
}

/**
 * Rewrites every URI of an HLS playlist (the URI lines, and `URI="..."` attributes of tags such as
 * `EXT-X-MAP` or `EXT-X-MEDIA`) to `urlFor(file)`, where `file` is the named file relative to the
 * HLS folder. Everything else is kept as it is; line endings become `\n`. Throws
 * PlaylistRewriteError for a URI that names anything but a file of the folder.
 */
export function rewritePlaylist(
  text: string,
  playlistPath: string,
  urlFor: (file: string) => string,
): string {
  return text
    .split(/\r?\n/)
    .map((line) => {
      const trimmed = line.trim();
      if (trimmed === '') return line;
      if (trimmed.startsWith('#')) {
        return line.replace(
          URI_ATTRIBUTE,
          (_all, uri: string) => `URI="${urlFor(hlsFileOf(uri, playlistPath))}"`,
        );
      }
      return urlFor(hlsFileOf(trimmed, playlistPath));
    })
    .join('\n');
}
