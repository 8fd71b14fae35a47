import { describe, expect, it } from 'vitest';
import {
  fixedSegments,
  type HlsSegment,
  keyframeSegments,
  MAX_SEGMENTS,
  masterPlaylist,
  mediaPlaylist,
  runCuts,
  StreamPlanSchema,
  segmentFileName,
  segmentIndexOf,
  targetDuration,
} from '../src/index.ts';

const starts = (segments: HlsSegment[]) => segments.map((s) => s.startSec);
const durations = (segments: HlsSegment[]) => segments.map((s) => s.durationSec);
const total = (segments: HlsSegment[]) => segments.reduce((sum, s) => sum + s.durationSec, 0);

describe('fixedSegments', () => {
  it.each([
    // duration, segment length, starts, durations
    [10, 4, [0, 4, 8], [4, 4, 2]],
    [8, 4, [0, 4], [4, 4]],
    [8.5, 4, [0, 4], [4, 4.5]], // a 0.5 s tail joins the last segment
    [9, 4, [0, 4, 8], [4, 4, 1]], // a 1 s tail stands alone
    [3, 4, [0], [3]],
    [0.2, 4, [0], [0.2]],
    [
      60.023,
      4,
      [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56],
      [4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4.023],
    ],
    [12, 6, [0, 6], [6, 6]],
  ])('%s s in %s s segments', (duration, length, wantStarts, wantDurations) => {
    const segments = fixedSegments(duration, length);
    expect(starts(segments)).toEqual(wantStarts);
    expect(durations(segments)).toEqual(wantDurations);
    expect(segments.map((s) => s.index)).toEqual(segments.map((_, i) => i));
    expect(total(segments)).toBeCloseTo(duration, 6);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses a duration of %s', (duration) => {
    expect(() => fixedSegments(duration)).toThrow(RangeError);
  });

  it('refuses a stream longer than five-digit segment numbers allow', () => {
    expect(() => fixedSegments(MAX_SEGMENTS * 4 + 10, 4)).toThrow(/too long/);
    expect(fixedSegments(2 * 3600, 4)).toHaveLength(1800);
  });
});

describe('keyframeSegments', () => {
  it.each([
    // keyframes, duration, target, starts
    [[0, 2, 4, 6, 8], 10, 4, [0, 4, 8]],
    [[0, 3, 6, 9, 12], 14, 4, [0, 6, 12]], // first keyframe at least 4 s after the start
    [[0, 5.005, 10.01], 12, 4, [0, 5.005, 10.01]],
    [[0, 4, 8, 9.5], 10, 4, [0, 4, 8]], // 9.5 would leave a 0.5 s tail
    [[0, 4, 8], 8.5, 4, [0, 4]], // 8 would leave a 0.5 s tail
    [[], 7, 4, [0]], // a single keyframe at the start: one segment
    [[8, 0, 4, 4], 12, 4, [0, 4, 8]], // unordered, duplicated
    [[0.033, 4.033, 8.033], 12, 4, [0, 4.033, 8.033]], // the first segment starts at 0 whatever comes first
    [[0, 30], 32, 4, [0, 30]], // sparse keyframes: long segments
  ])('keyframes %j over %s s (target %s s)', (keyframes, duration, target, wantStarts) => {
    const segments = keyframeSegments(keyframes, duration, target);
    expect(starts(segments)).toEqual(wantStarts);
    expect(total(segments)).toBeCloseTo(duration, 6);
    for (const s of segments) expect(s.durationSec).toBeGreaterThan(0);
  });
});

describe('segment names', () => {
  it.each([
    [0, 'seg00000.ts'],
    [42, 'seg00042.ts'],
    [99_999, 'seg99999.ts'],
  ])('%s <-> %s', (index, name) => {
    expect(segmentFileName(index)).toBe(name);
    expect(segmentIndexOf(name)).toBe(index);
  });
  it.each(['seg0001.ts', 'seg000001.ts', 'seg00001.mp4', '../seg00001.ts', 'index.m3u8'])(
    '%s is no segment',
    (name) => expect(segmentIndexOf(name)).toBeUndefined(),
  );
  it.each([-1, 1.5, 100_000])('no name for %s', (index) => {
    expect(() => segmentFileName(index)).toThrow(RangeError);
  });
});

describe('playlists', () => {
  it('a VOD media playlist lists every segment with its duration and ends', () => {
    const segments = fixedSegments(10, 4);
    const text = mediaPlaylist(segments, (i) => `seg${i}.ts?sig=x`);
    expect(text.split('\n')).toEqual([
      '#EXTM3U',
      '#EXT-X-VERSION:6',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MEDIA-SEQUENCE:0',
      '#EXT-X-PLAYLIST-TYPE:VOD',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXTINF:4.000000,',
      'seg0.ts?sig=x',
      '#EXTINF:4.000000,',
      'seg1.ts?sig=x',
      '#EXTINF:2.000000,',
      'seg2.ts?sig=x',
      '#EXT-X-ENDLIST',
      '',
    ]);
  });

  it.each([
    [[4, 4, 2], 4],
    [[4, 4.5], 5], // rounded, as RFC 8216 asks
    [[4.4], 4],
    [[0.2], 1],
  ])('target duration of %j is %s', (lengths, want) => {
    let start = 0;
    const segments = lengths.map((durationSec, index) => {
      const s = { index, startSec: start, durationSec };
      start += durationSec;
      return s;
    });
    expect(targetDuration(segments)).toBe(want);
  });

  it('a master playlist has one variant per rendition and leaves unknown codecs out', () => {
    const text = masterPlaylist([
      {
        uri: 'v0/index.m3u8',
        bandwidth: 6_740_000.2,
        width: 1920,
        height: 1080,
        codecs: 'avc1.640028,mp4a.40.2',
      },
      { uri: 'v1/index.m3u8', bandwidth: 3_440_000, width: 1280, height: 720, codecs: null },
    ]);
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:6',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-STREAM-INF:BANDWIDTH=6740001,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2"',
        'v0/index.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=3440000,RESOLUTION=1280x720',
        'v1/index.m3u8',
        '',
      ].join('\n'),
    );
  });
});

describe('runCuts', () => {
  const fixed = fixedSegments(14.5, 4); // 0 4 8 12 (2.5 s)
  const keyed = keyframeSegments([0, 5.005, 10.01, 15.015], 20);
  it.each([
    [fixed, 0, 0, [4, 8, 12]],
    [fixed, 2, 8, [4]],
    [fixed, 3, 12, []],
    [keyed, 1, 5.005, [5.005, 10.01]],
  ])('run from segment %#', (segments, from, seek, cuts) => {
    expect(runCuts(segments, from as number)).toEqual({ seekSec: seek, cutsSec: cuts });
  });
  it('refuses a segment the stream does not have', () => {
    expect(() => runCuts(fixed, 4)).toThrow(RangeError);
  });
});

describe('StreamPlanSchema', () => {
  const plan = {
    version: 1,
    contentHash: 'xxh3-128:00',
    sourcePath: '/m/a.mkv',
    mode: 'transcode',
    audio: 'encode',
    reason: 'video codec hevc is not H.264',
    durationSec: 10,
    videoIndex: 0,
    audioIndex: 1,
    fps: 30,
    renditions: [
      {
        name: 'v0',
        width: 320,
        height: 240,
        maxrateKbps: 800,
        preset: 'veryfast',
        bandwidth: 1_000_000,
        codecs: null,
      },
    ],
    segments: [{ startSec: 0, durationSec: 10 }],
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  it('accepts a plan and refuses broken ones', () => {
    expect(StreamPlanSchema.parse(plan)).toEqual(plan);
    expect(StreamPlanSchema.safeParse({ ...plan, version: 2 }).success).toBe(false);
    expect(StreamPlanSchema.safeParse({ ...plan, segments: [] }).success).toBe(false);
    expect(
      StreamPlanSchema.safeParse({ ...plan, renditions: [{ ...plan.renditions[0], name: '../x' }] }).success,
    ).toBe(false);
  });
});
