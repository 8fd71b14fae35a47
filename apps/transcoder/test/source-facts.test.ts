import { describe, expect, it } from 'vitest';
import { NoVideoStreamError, sourceFactsFromFfprobe } from '../src/source-facts.ts';

const h264 = {
  index: 0,
  codec_type: 'video',
  codec_name: 'h264',
  profile: 'High',
  pix_fmt: 'yuv420p',
  width: 1920,
  height: 1080,
  sample_aspect_ratio: '1:1',
  avg_frame_rate: '30000/1001',
  disposition: { attached_pic: 0 },
};
const aac = { index: 1, codec_type: 'audio', codec_name: 'aac', profile: 'LC', channels: 2 };

describe('sourceFactsFromFfprobe', () => {
  it('reads the streams to map, codecs and size', () => {
    const facts = sourceFactsFromFfprobe({ format: { duration: '12.5' }, streams: [h264, aac] });
    expect(facts).toEqual({
      durationSec: 12.5,
      video: {
        index: 0,
        codec: 'h264',
        profile: 'High',
        pixFmt: 'yuv420p',
        width: 1920,
        height: 1080,
        displayWidth: 1920,
        displayHeight: 1080,
        rotation: 0,
        fps: 30000 / 1001,
      },
      audio: { index: 1, codec: 'aac', profile: 'LC', channels: 2 },
    });
  });

  it.each([
    // side data rotation (either sign), or the old rotate tag -> displayed size
    [
      'display matrix 90',
      { side_data_list: [{ side_data_type: 'Display Matrix', rotation: 90 }] },
      90,
      '1080x1920',
    ],
    [
      'display matrix -90',
      { side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }] },
      270,
      '1080x1920',
    ],
    ['display matrix 180', { side_data_list: [{ rotation: 180 }] }, 180, '1920x1080'],
    ['rotate tag 270', { tags: { rotate: '270' } }, 270, '1080x1920'],
    ['no rotation', {}, 0, '1920x1080'],
  ])('%s', (_label, extra, rotation, display) => {
    const facts = sourceFactsFromFfprobe({ format: {}, streams: [{ ...h264, ...extra }] });
    expect(facts.video.rotation).toBe(rotation);
    expect(`${facts.video.displayWidth}x${facts.video.displayHeight}`).toBe(display);
  });

  it('applies a non-square pixel aspect ratio to the displayed size (anamorphic DVD)', () => {
    const facts = sourceFactsFromFfprobe({
      format: {},
      streams: [{ ...h264, codec_name: 'mpeg2video', width: 720, height: 576, sample_aspect_ratio: '64:45' }],
    });
    expect(`${facts.video.displayWidth}x${facts.video.displayHeight}`).toBe('1024x576');
  });

  it('skips cover art and finds audio wherever it is', () => {
    const cover = { ...h264, index: 0, codec_name: 'mjpeg', disposition: { attached_pic: 1 } };
    const facts = sourceFactsFromFfprobe({
      format: { duration: '3' },
      streams: [cover, { ...aac, index: 1 }, { ...h264, index: 2 }],
    });
    expect(facts.video.index).toBe(2);
    expect(facts.video.codec).toBe('h264');
    expect(facts.audio?.index).toBe(1);
  });

  it('has no audio when there is none, and no duration when ffprobe gives none', () => {
    const facts = sourceFactsFromFfprobe({ format: { duration: 'N/A' }, streams: [h264] });
    expect(facts.audio).toBeNull();
    expect(facts.durationSec).toBeNull();
  });

  it.each([
    ['no streams', { format: {}, streams: [] }],
    ['audio only', { format: {}, streams: [aac] }],
    ['only cover art', { format: {}, streams: [{ ...h264, disposition: { attached_pic: 1 } }] }],
    ['not ffprobe output', 'garbage'],
  ])('throws NoVideoStreamError for %s', (_label, output) => {
    expect(() => sourceFactsFromFfprobe(output)).toThrow(NoVideoStreamError);
  });
});
