import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

/**
 * Small videos made with ffmpeg for the tests (a few seconds, mostly 320x240, so the suite stays
 * fast). Each says what the transcoder should do with it.
 */
export interface TestVideo {
  name: string;
  file: string;
  /** Expected HLS mode. */
  mode: 'remux' | 'transcode';
  /** Expected size of each rendition, as displayed. */
  renditions: { width: number; height: number }[];
  hasAudio: boolean;
}

const FFMPEG_TIMEOUT_MS = 60_000;

async function ffmpeg(args: string[]): Promise<void> {
  await execa('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], {
    timeout: FFMPEG_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
}

function testSource(size: string, seconds: number, fps = 24): string[] {
  return ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${fps}:duration=${seconds}`];
}

function tone(seconds: number): string[] {
  return ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`];
}

/** H.264 (libx264, a keyframe every 2 s so the remux cuts several segments) + AAC in MP4. */
export async function makeH264Aac(file: string, seconds = 4, size = '320x240'): Promise<void> {
  await ffmpeg([
    ...testSource(size, seconds),
    ...tone(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '48',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    file,
  ]);
}

/** HEVC (libx265) + AAC in MP4, tagged hvc1 as phones do. */
export async function makeHevc(file: string, seconds: number, size: string): Promise<void> {
  await ffmpeg([
    ...testSource(size, seconds),
    ...tone(seconds),
    '-c:v',
    'libx265',
    '-preset',
    'ultrafast',
    '-x265-params',
    'log-level=error',
    '-pix_fmt',
    'yuv420p',
    '-tag:v',
    'hvc1',
    '-c:a',
    'aac',
    '-shortest',
    file,
  ]);
}

/** VP9 + Opus in WebM. */
export async function makeVp9(file: string, seconds = 3): Promise<void> {
  await ffmpeg([
    ...testSource('320x240', seconds),
    ...tone(seconds),
    '-c:v',
    'libvpx-vp9',
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-b:v',
    '300k',
    '-c:a',
    'libopus',
    '-shortest',
    file,
  ]);
}

/** A phone-style clip: H.264 + AAC stored landscape with a 90 degree display rotation. */
export async function makeRotated(file: string, seconds = 3, size = '320x240'): Promise<void> {
  const plain = `${file}.plain.mp4`;
  await makeH264Aac(plain, seconds, size);
  // ffmpeg 5.1 writes the display matrix from the `rotate` tag when stream-copying.
  await ffmpeg(['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', file]);
  await fs.rm(plain);
}

/** H.264 without an audio stream. */
export async function makeSilentH264(file: string, seconds = 3): Promise<void> {
  await ffmpeg([
    ...testSource('320x240', seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '48',
    '-pix_fmt',
    'yuv420p',
    file,
  ]);
}

/** An MP4 whose last 40% is cut off: the index (`moov`, written last) is gone, so ffprobe fails. */
export async function makeTruncated(file: string): Promise<void> {
  const whole = `${file}.whole.mp4`;
  await makeH264Aac(whole, 3);
  const bytes = await fs.readFile(whole);
  await fs.writeFile(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  await fs.rm(whole);
}

/** The good videos of the HLS matrix, with what the transcoder should make of each. */
export const GOOD_VIDEOS: (Omit<TestVideo, 'file'> & { make(file: string): Promise<void> })[] = [
  {
    name: 'h264-aac.mp4',
    mode: 'remux',
    renditions: [{ width: 320, height: 240 }],
    hasAudio: true,
    make: (file) => makeH264Aac(file),
  },
  {
    name: 'hevc.mp4',
    mode: 'transcode',
    // Clearly larger than 720p: the source size plus a 720p rendition.
    renditions: [
      { width: 1600, height: 900 },
      { width: 1280, height: 720 },
    ],
    hasAudio: true,
    make: (file) => makeHevc(file, 2, '1600x900'),
  },
  {
    name: 'vp9.webm',
    mode: 'transcode',
    renditions: [{ width: 320, height: 240 }],
    hasAudio: true,
    make: (file) => makeVp9(file),
  },
  {
    name: 'phone-rotated.mp4',
    mode: 'transcode',
    // Stored 320x240 with a 90 degree display rotation: played portrait.
    renditions: [{ width: 240, height: 320 }],
    hasAudio: true,
    make: (file) => makeRotated(file),
  },
  {
    name: 'no-audio.mp4',
    mode: 'remux',
    renditions: [{ width: 320, height: 240 }],
    hasAudio: false,
    make: (file) => makeSilentH264(file),
  },
  {
    // MKV carries no stream bitrates: ffmpeg 5.1 then leaves every variant out of its master playlist.
    name: 'no-audio.mkv',
    mode: 'remux',
    renditions: [{ width: 320, height: 240 }],
    hasAudio: false,
    make: (file) => makeSilentH264(file),
  },
  {
    name: 'h264-aac.mkv',
    mode: 'remux',
    renditions: [{ width: 320, height: 240 }],
    hasAudio: true,
    make: (file) => makeH264Aac(file),
  },
];

/** Makes the good videos in `dir` (in parallel). */
export async function makeGoodVideos(dir: string): Promise<TestVideo[]> {
  return Promise.all(
    GOOD_VIDEOS.map(async ({ make, ...video }) => {
      const file = path.join(dir, video.name);
      await make(file);
      return { ...video, file };
    }),
  );
}
