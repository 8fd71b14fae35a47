import { describe, expect, it } from 'vitest';
import {
  gifPath,
  HLS_FILE_PATTERN,
  hlsPaths,
  previewClipPath,
  previewFailurePath,
} from '../src/output-paths.ts';

const hash = 'xxh3-128:0123456789abcdef0123456789abcdef';

describe('output paths', () => {
  it('are content-addressed under their folders, two byte-pair shards deep', () => {
    const { segment, ...files } = hlsPaths('/v', hash);
    expect(files).toEqual({
      dir: '/v/01/23/0123456789abcdef0123456789abcdef',
      master: '/v/01/23/0123456789abcdef0123456789abcdef/master.m3u8',
      plan: '/v/01/23/0123456789abcdef0123456789abcdef/stream.json',
      manifest: '/v/01/23/0123456789abcdef0123456789abcdef/manifest.json',
      failure: '/v/01/23/0123456789abcdef0123456789abcdef.hls-failed.json',
    });
    expect(segment('v1', 42)).toBe('/v/01/23/0123456789abcdef0123456789abcdef/v1/seg00042.ts');
    expect(() => segment('v0', -1)).toThrow(RangeError);
    expect(previewClipPath('/clips', hash)).toBe('/clips/01/23/0123456789abcdef0123456789abcdef.mp4');
    expect(gifPath('/gifs', hash)).toBe('/gifs/01/23/0123456789abcdef0123456789abcdef.gif');
    expect(previewFailurePath('/clips', hash)).toBe(
      '/clips/01/23/0123456789abcdef0123456789abcdef.preview-failed.json',
    );
  });

  it.each(['../etc/passwd', 'sha256', '', 'xxh3-128:../../x'])('refuse a non-hash %j', (bad) => {
    expect(() => hlsPaths('/v', bad)).toThrow();
    expect(() => previewClipPath('/c', bad)).toThrow();
  });

  it.each([
    ['master.m3u8', true],
    ['manifest.json', true],
    ['v0/index.m3u8', true],
    ['v1/seg00012.ts', true],
    ['v0/../master.m3u8', false],
    ['../x/master.m3u8', false],
    ['v0/seg1.ts', false],
    ['v0/index.m3u8.tmp', false],
    ['.master.m3u8', false],
  ])('HLS_FILE_PATTERN %s -> %s', (name, ok) => {
    expect(HLS_FILE_PATTERN.test(name)).toBe(ok);
  });
});
