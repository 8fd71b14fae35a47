import { describe, expect, it } from 'vitest';
import { hlsFileOf, PlaylistRewriteError, rewritePlaylist } from '../src/services/hls-playlist-rewriter.ts';

const sign = (file: string) => `/video/hls/abc/${file}?exp=1&sig=s`;

describe('rewritePlaylist', () => {
  it('rewrites the variant URIs of a master playlist and keeps every tag', () => {
    const master = [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-STREAM-INF:BANDWIDTH=1200000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2"',
      'v0/index.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=1280x720',
      'v1/index.m3u8',
      '',
    ].join('\n');
    expect(rewritePlaylist(master, 'master.m3u8', sign)).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-STREAM-INF:BANDWIDTH=1200000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2"',
        '/video/hls/abc/v0/index.m3u8?exp=1&sig=s',
        '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=1280x720',
        '/video/hls/abc/v1/index.m3u8?exp=1&sig=s',
        '',
      ].join('\n'),
    );
  });

  it('resolves segment URIs against the variant playlist folder, and URI attributes too', () => {
    const variant = [
      '#EXTM3U',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MAP:URI="seg00000.ts"',
      '#EXTINF:4.000000,',
      'seg00000.ts',
      '#EXTINF:1.500000,',
      'seg00001.ts',
      '#EXT-X-ENDLIST',
    ].join('\r\n');
    expect(rewritePlaylist(variant, 'v1/index.m3u8', sign).split('\n')).toEqual([
      '#EXTM3U',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MAP:URI="/video/hls/abc/v1/seg00000.ts?exp=1&sig=s"',
      '#EXTINF:4.000000,',
      '/video/hls/abc/v1/seg00000.ts?exp=1&sig=s',
      '#EXTINF:1.500000,',
      '/video/hls/abc/v1/seg00001.ts?exp=1&sig=s',
      '#EXT-X-ENDLIST',
    ]);
  });

  it.each([
    ['master.m3u8', 'v0/index.m3u8', 'v0/index.m3u8'],
    ['v0/index.m3u8', 'seg00000.ts', 'v0/seg00000.ts'],
    ['v0/index.m3u8', './seg00001.ts', 'v0/seg00001.ts'],
    ['v0/index.m3u8', '../v1/seg00002.ts', 'v1/seg00002.ts'],
  ])('hlsFileOf: %s names %s -> %s', (playlist, uri, file) => {
    expect(hlsFileOf(uri, playlist)).toBe(file);
  });

  it.each([
    ['master.m3u8', '../other/v0/index.m3u8'],
    ['v0/index.m3u8', '../../secret.ts'],
    ['v0/index.m3u8', '/etc/passwd'],
    ['v0/index.m3u8', 'http://evil.example/seg.ts'],
    ['v0/index.m3u8', 'file:///etc/passwd'],
    ['v0/index.m3u8', 'seg00000.ts?x=1'],
    ['master.m3u8', 'manifest.json/../../x'],
    ['v0/index.m3u8', 'notes.txt'],
  ])('hlsFileOf refuses: %s naming %s', (playlist, uri) => {
    expect(() => hlsFileOf(uri, playlist)).toThrow(PlaylistRewriteError);
  });
});
