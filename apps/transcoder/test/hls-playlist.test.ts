import { describe, expect, it } from 'vitest';
import { masterPlaylist, mediaSegments, variantBitrate } from '../src/hls/hls-playlist.ts';

describe('mediaSegments', () => {
  it('pairs each segment URI with the #EXTINF before it', () => {
    const playlist = [
      '#EXTM3U',
      '#EXT-X-VERSION:6',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-PLAYLIST-TYPE:VOD',
      '#EXTINF:4.000000,',
      'seg00000.ts',
      '#EXTINF:3.5,title',
      '',
      'seg00001.ts',
      '#EXTINF:0.041667,',
      'seg00002.ts',
      '#EXT-X-ENDLIST',
      '',
    ].join('\r\n');
    expect(mediaSegments(playlist)).toEqual([
      { uri: 'seg00000.ts', durationSec: 4 },
      { uri: 'seg00001.ts', durationSec: 3.5 },
      { uri: 'seg00002.ts', durationSec: 0.041667 },
    ]);
  });

  it.each([
    ['no #EXTINF', '#EXTM3U\nseg00000.ts\n'],
    ['one #EXTINF for two URIs', '#EXTM3U\n#EXTINF:4,\nseg00000.ts\nseg00001.ts\n'],
    ['a duration that is not a number', '#EXTM3U\n#EXTINF:abc,\nseg00000.ts\n'],
  ])('throws for a segment with %s', (_label, playlist) => {
    expect(() => mediaSegments(playlist)).toThrow(/has no #EXTINF duration/);
  });
});

describe('variantBitrate', () => {
  it.each<[string, { bytes: number; durationSec: number }[], number, number]>([
    ['one segment', [{ bytes: 500_000, durationSec: 4 }], 1_000_000, 1_000_000],
    [
      'peak is the densest segment, average is over the whole',
      [
        { bytes: 500_000, durationSec: 4 }, // 1 Mbit/s
        { bytes: 1_500_000, durationSec: 4 }, // 3 Mbit/s
        { bytes: 250_000, durationSec: 1 }, // 2 Mbit/s
      ],
      3_000_000,
      2_000_000,
    ],
    [
      'a short last segment with a keyframe can be the peak',
      [
        { bytes: 400_000, durationSec: 4 },
        { bytes: 20_000, durationSec: 0.1 },
      ],
      1_600_000,
      Math.ceil((420_000 * 8) / 4.1),
    ],
    [
      'a zero-length segment counts toward the average only',
      [
        { bytes: 400_000, durationSec: 4 },
        { bytes: 1_000, durationSec: 0 },
      ],
      800_000,
      802_000,
    ],
    ['fractions are rounded up', [{ bytes: 1, durationSec: 3 }], 3, 3],
  ])('%s', (_label, segments, peak, average) => {
    expect(variantBitrate(segments)).toEqual({ peakBps: peak, averageBps: average });
  });

  it.each([
    ['no segments', []],
    ['zero duration', [{ bytes: 100, durationSec: 0 }]],
    ['zero bytes', [{ bytes: 0, durationSec: 4 }]],
  ])('throws for %s', (_label, segments) => {
    expect(() => variantBitrate(segments)).toThrow();
  });
});

describe('masterPlaylist', () => {
  it('writes one #EXT-X-STREAM-INF per variant, in order, with CODECS when known', () => {
    expect(
      masterPlaylist([
        {
          playlist: 'v0/index.m3u8',
          peakBps: 6_100_000,
          averageBps: 4_000_000,
          width: 1920,
          height: 1080,
          codecs: 'avc1.640028,mp4a.40.2',
        },
        {
          playlist: 'v1/index.m3u8',
          peakBps: 3_000_000,
          averageBps: 2_000_000,
          width: 1280,
          height: 720,
          codecs: null,
        },
      ]),
    ).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:6',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-STREAM-INF:BANDWIDTH=6100000,AVERAGE-BANDWIDTH=4000000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2"',
        'v0/index.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2000000,RESOLUTION=1280x720',
        'v1/index.m3u8',
        '',
      ].join('\n'),
    );
  });
});
