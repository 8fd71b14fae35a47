import { describe, expect, it } from 'vitest';
import {
  BOX_720P,
  BOX_1080P,
  fitInBox,
  fitsInBox,
  hlsFfmpegArgs,
  maxrateKbps,
  planHls,
  renditionSizes,
} from '../src/hls/hls-plan.ts';
import type { SourceFacts } from '../src/source-facts.ts';

function facts(
  video: Partial<SourceFacts['video']>,
  audio: SourceFacts['audio'] = { index: 1, codec: 'aac', profile: 'LC', channels: 2 },
): SourceFacts {
  const width = video.width ?? 1920;
  const height = video.height ?? 1080;
  const rotation = video.rotation ?? 0;
  const sideways = rotation === 90 || rotation === 270;
  return {
    durationSec: 10,
    video: {
      index: 0,
      codec: 'h264',
      profile: 'High',
      pixFmt: 'yuv420p',
      width,
      height,
      displayWidth: sideways ? height : width,
      displayHeight: sideways ? width : height,
      rotation,
      fps: 30,
      ...video,
    },
    audio,
  };
}

describe('fitInBox', () => {
  it.each([
    // size, box, expected
    [{ width: 3840, height: 2160 }, BOX_1080P, { width: 1920, height: 1080 }],
    [{ width: 2160, height: 3840 }, BOX_1080P, { width: 1080, height: 1920 }],
    [{ width: 1920, height: 1080 }, BOX_1080P, { width: 1920, height: 1080 }],
    [{ width: 320, height: 240 }, BOX_1080P, { width: 320, height: 240 }],
    [{ width: 1920, height: 1080 }, BOX_720P, { width: 1280, height: 720 }],
    [{ width: 1080, height: 1920 }, BOX_720P, { width: 720, height: 1280 }],
    [{ width: 1440, height: 1080 }, BOX_720P, { width: 960, height: 720 }],
    // Odd sizes round down to even, never up (no upscaling by a pixel).
    [{ width: 321, height: 241 }, BOX_1080P, { width: 320, height: 240 }],
    // Very wide: the long side limits.
    [{ width: 4000, height: 1000 }, BOX_1080P, { width: 1920, height: 480 }],
  ])('%o in %o -> %o', (size, box, expected) => {
    expect(fitInBox(size, box)).toEqual(expected);
  });

  it.each([
    [{ width: 1920, height: 1080 }, BOX_1080P, true],
    [{ width: 1080, height: 1920 }, BOX_1080P, true],
    [{ width: 1920, height: 1088 }, BOX_1080P, false],
    [{ width: 2048, height: 1080 }, BOX_1080P, false],
    [{ width: 1280, height: 720 }, BOX_720P, true],
    [{ width: 1281, height: 720 }, BOX_720P, false],
  ])('fitsInBox(%o, %o) = %s', (size, box, expected) => {
    expect(fitsInBox(size, box)).toBe(expected);
  });
});

describe('renditionSizes', () => {
  it.each([
    ['4K', { width: 3840, height: 2160 }, ['1920x1080', '1280x720']],
    ['1080p', { width: 1920, height: 1080 }, ['1920x1080', '1280x720']],
    ['portrait 1080p', { width: 1080, height: 1920 }, ['1080x1920', '720x1280']],
    ['1600x900', { width: 1600, height: 900 }, ['1600x900', '1280x720']],
    ['720p: one rendition', { width: 1280, height: 720 }, ['1280x720']],
    ['barely over 720p: no near-duplicate second rendition', { width: 1344, height: 756 }, ['1344x756']],
    ['small: never upscaled', { width: 320, height: 240 }, ['320x240']],
  ])('%s', (_label, display, expected) => {
    expect(renditionSizes(display).map((s) => `${s.width}x${s.height}`)).toEqual(expected);
  });
});

describe('planHls', () => {
  it.each<[string, SourceFacts, 'remux' | 'transcode', 'copy' | 'encode' | 'none']>([
    ['H.264 + AAC 1080p', facts({}), 'remux', 'copy'],
    ['H.264 without audio', facts({}, null), 'remux', 'none'],
    [
      'H.264 + MP3: video copied, audio to AAC',
      facts({}, { index: 1, codec: 'mp3', profile: null, channels: 2 }),
      'remux',
      'encode',
    ],
    ['H.264 yuvj420p (full range) still plays', facts({ pixFmt: 'yuvj420p' }), 'remux', 'copy'],
    ['HEVC', facts({ codec: 'hevc' }), 'transcode', 'encode'],
    [
      'VP9 + Opus',
      facts({ codec: 'vp9' }, { index: 1, codec: 'opus', profile: null, channels: 2 }),
      'transcode',
      'encode',
    ],
    ['AV1 without audio', facts({ codec: 'av1' }, null), 'transcode', 'none'],
    ['ProRes', facts({ codec: 'prores', pixFmt: 'yuv422p10le' }), 'transcode', 'encode'],
    ['MPEG-2', facts({ codec: 'mpeg2video' }), 'transcode', 'encode'],
    ['10-bit H.264', facts({ pixFmt: 'yuv420p10le' }), 'transcode', 'encode'],
    ['4:4:4 H.264', facts({ pixFmt: 'yuv444p' }), 'transcode', 'encode'],
    ['rotated phone H.264', facts({ rotation: 90 }), 'transcode', 'encode'],
    ['4K H.264 (capped at 1080p)', facts({ width: 3840, height: 2160 }), 'transcode', 'encode'],
  ])('%s -> %s, audio %s', (_label, source, mode, audio) => {
    const plan = planHls(source);
    expect(plan.mode).toBe(mode);
    expect(plan.audio).toBe(audio);
    expect(plan.renditions.length).toBeGreaterThanOrEqual(1);
    expect(plan.renditions.length).toBeLessThanOrEqual(2);
  });

  it('remux keeps the source as the one rendition', () => {
    const plan = planHls(facts({ width: 1280, height: 720 }));
    expect(plan.renditions).toEqual([{ name: 'v0', width: 1280, height: 720, maxrateKbps: null }]);
  });

  it('a rotated source is planned at its displayed (portrait) size', () => {
    const plan = planHls(facts({ width: 1920, height: 1080, rotation: 270 }));
    expect(plan.renditions.map((r) => `${r.name}:${r.width}x${r.height}`)).toEqual([
      'v0:1080x1920',
      'v1:720x1280',
    ]);
  });

  it('4K is capped at 1080p plus 720p', () => {
    const plan = planHls(facts({ codec: 'hevc', width: 3840, height: 2160 }));
    expect(plan.renditions.map((r) => `${r.width}x${r.height}@${r.maxrateKbps}`)).toEqual([
      '1920x1080@6000',
      '1280x720@3000',
    ]);
  });
});

describe('maxrateKbps', () => {
  it.each([
    [{ width: 1920, height: 1080 }, 6000],
    [{ width: 1080, height: 1920 }, 6000],
    [{ width: 1280, height: 720 }, 3000],
    [{ width: 854, height: 480 }, 1500],
    [{ width: 320, height: 240 }, 800],
  ])('%o -> %d', (size, expected) => {
    expect(maxrateKbps(size)).toBe(expected);
  });
});

describe('hlsFfmpegArgs', () => {
  const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

  it('remux copies the mapped streams and writes 4 s VOD segments, but no master playlist', () => {
    const source = facts({ index: 1 }, { index: 0, codec: 'aac', profile: 'LC', channels: 2 });
    const args = hlsFfmpegArgs('/lib/a:b.mp4', source, planHls(source));
    expect(after(args, '-i')).toBe('file:/lib/a:b.mp4');
    expect(args.join(' ')).toContain('-map 0:1 -map 0:0 -c:v copy -c:a copy');
    expect(args).not.toContain('libx264');
    expect(after(args, '-hls_time')).toBe('4');
    expect(after(args, '-hls_playlist_type')).toBe('vod');
    expect(after(args, '-hls_flags')).toBe('independent_segments');
    // ffmpeg 5.1 drops variants without a declared bitrate from its master: we write our own.
    expect(args).not.toContain('-master_pl_name');
    expect(after(args, '-var_stream_map')).toBe('v:0,a:0');
    expect(args.at(-1)).toBe('v%v/index.m3u8');
  });

  it('remux without audio maps video only', () => {
    const source = facts({}, null);
    const args = hlsFfmpegArgs('/x.mp4', source, planHls(source));
    expect(args.filter((a) => a.startsWith('0:'))).toEqual(['0:0']);
    expect(after(args, '-var_stream_map')).toBe('v:0');
  });

  it('transcode splits into renditions, forces a keyframe every 4 s and encodes AAC per variant', () => {
    const source = facts({ codec: 'hevc' });
    const args = hlsFfmpegArgs('/x.mp4', source, planHls(source));
    expect(after(args, '-filter_complex')).toBe(
      '[0:0]split=2[s0][s1];' +
        '[s0]scale=1920:1080:flags=bicubic,setsar=1,format=yuv420p[v0];' +
        '[s1]scale=1280:720:flags=bicubic,setsar=1,format=yuv420p[v1]',
    );
    expect(args.join(' ')).toContain('-map [v0] -map 0:1 -maxrate:v:0 6000k -bufsize:v:0 12000k');
    expect(args.join(' ')).toContain('-map [v1] -map 0:1 -maxrate:v:1 3000k -bufsize:v:1 6000k');
    expect(after(args, '-c:v')).toBe('libx264');
    expect(after(args, '-preset')).toBe('veryfast');
    expect(after(args, '-force_key_frames')).toBe('expr:gte(t,n_forced*4)');
    expect(after(args, '-c:a')).toBe('aac');
    expect(after(args, '-var_stream_map')).toBe('v:0,a:0 v:1,a:1');
  });

  it('transcode caps slow-motion frame rates at 60', () => {
    const source = facts({ codec: 'hevc', width: 1280, height: 720, fps: 240 });
    const args = hlsFfmpegArgs('/x.mp4', source, planHls(source));
    expect(after(args, '-filter_complex')).toContain('format=yuv420p,fps=60[v0]');
  });
});
