import { describe, expect, it } from 'vitest';
import { clipWindow, previewFfmpegArgs } from '../src/preview/preview-plan.ts';
import type { SourceFacts } from '../src/source-facts.ts';

describe('clipWindow', () => {
  it.each([
    // duration, start, length
    [60, 6, 3],
    [100, 10, 3],
    [10, 1, 3],
    // 10% in would leave less than 3 s: start early enough.
    [3.2, 0.2, 3],
    [3, 0, 3],
    [2, 0, 3],
    [null, 0, 3],
  ])('%s s -> from %s s for %s s', (duration, start, length) => {
    expect(clipWindow(duration)).toEqual({ startSec: start, lengthSec: length });
  });
});

describe('previewFfmpegArgs', () => {
  const facts = { durationSec: 60, video: { index: 2 }, audio: null } as unknown as SourceFacts;

  it('seeks on the input, makes a silent 480 px faststart H.264 clip and a 320 px 10 fps GIF in one run', () => {
    const args = previewFfmpegArgs(
      '/lib/v.mov',
      facts,
      { startSec: 6, lengthSec: 3 },
      '/out/c.tmp',
      '/out/g.tmp',
    );
    const line = args.join(' ');
    expect(line.startsWith('-ss 6 -t 3 -i file:/lib/v.mov')).toBe(true);
    expect(line).toContain('[0:2]split=2[c][g]');
    expect(line).toContain('scale=480:-2');
    expect(line).toContain('fps=10,scale=320:-2');
    expect(line).toContain('palettegen');
    expect(line).toContain('-map [clip] -an');
    expect(line).toContain('-movflags +faststart');
    expect(line).toContain('-pix_fmt yuv420p');
    expect(line).toContain('-f mp4 /out/c.tmp');
    expect(line).toContain('-map [gif] -loop 0 -f gif /out/g.tmp');
  });

  it('starts at the beginning without -ss', () => {
    const args = previewFfmpegArgs('/v.mp4', facts, { startSec: 0, lengthSec: 3 }, '/c', '/g');
    expect(args).not.toContain('-ss');
  });
});
