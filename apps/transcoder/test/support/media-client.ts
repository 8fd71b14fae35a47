import fs from 'node:fs/promises';
import { execa } from 'execa';

/** ffmpeg and ffprobe as a client would use them, to judge what the transcoder produced. */

const TIMEOUT_MS = 60_000;

/**
 * Decodes every video and audio stream of `input` to nothing; an error-free stream leaves stderr empty.
 * Every decoded frame is passed on with its own timestamp (`-fps_mode passthrough`, input time base):
 * otherwise ffmpeg rounds millisecond timestamps (MKV) to 1/fps and complains about its own rounding.
 */
export async function decodeAll(input: string): Promise<{ exitCode: number | undefined; stderr: string }> {
  const result = await execa(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-i',
      input,
      '-map',
      '0:v',
      '-map',
      '0:a?',
      '-fps_mode',
      'passthrough',
      '-enc_time_base',
      '-1',
      '-f',
      'null',
      '-',
    ],
    { timeout: TIMEOUT_MS, killSignal: 'SIGKILL', reject: false },
  );
  return { exitCode: result.exitCode, stderr: String(result.stderr).trim() };
}

export interface ProbedStream {
  index: number;
  codec_type: string;
  codec_name: string;
  profile?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  level?: number;
  nb_frames?: string;
  side_data_list?: { rotation?: number }[];
}

export interface Probe {
  format: { duration?: string; format_name?: string };
  streams: ProbedStream[];
}

export async function probe(input: string): Promise<Probe> {
  const result = await execa(
    'ffprobe',
    ['-hide_banner', '-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', input],
    { timeout: TIMEOUT_MS, killSignal: 'SIGKILL' },
  );
  return JSON.parse(result.stdout) as Probe;
}

export async function durationOf(input: string): Promise<number> {
  return Number((await probe(input)).format.duration);
}

/**
 * MD5 of every decoded frame of the first video stream, each once (as `decodeAll`): equal lists mean
 * no re-encode happened.
 */
export async function videoFrameHashes(input: string): Promise<string[]> {
  const result = await execa(
    'ffmpeg',
    [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-i', input, '-map', '0:v:0'],
      ...['-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'framemd5', '-'],
    ],
    { timeout: TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
  );
  return result.stdout
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => line.split(',').at(-1)?.trim() ?? '');
}

/** The top-level MP4 box types in file order (`ftyp`, `moov`, `mdat` for a faststart file). */
export async function topLevelBoxes(file: string): Promise<string[]> {
  const bytes = await fs.readFile(file);
  const boxes: string[] = [];
  let offset = 0;
  while (offset + 8 <= bytes.length) {
    let size = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    if (size === 1) size = Number(bytes.readBigUInt64BE(offset + 8));
    if (size < 8) break;
    boxes.push(type);
    offset += size;
  }
  return boxes;
}

/**
 * Average PSNR (dB) of `output`'s first video stream against `source`'s, frame by frame from each
 * start (the source autorotated, as a player shows it). Above ~20 dB: the same picture, the same way up.
 */
export async function psnr(output: string, source: string): Promise<number> {
  const graph =
    '[0:v]setpts=PTS-STARTPTS,settb=AVTB[out];[1:v]setpts=PTS-STARTPTS,settb=AVTB[src];[out][src]psnr';
  const result = await execa(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-i', output, '-i', source, '-lavfi', graph, '-f', 'null', '-'],
    { timeout: TIMEOUT_MS, killSignal: 'SIGKILL' },
  );
  const match = /PSNR y:[\d.]+ u:[\d.]+ v:[\d.]+ average:([\d.]+|inf)/.exec(String(result.stderr));
  if (!match?.[1]) throw new Error(`no PSNR in ffmpeg output:\n${result.stderr}`);
  return match[1] === 'inf' ? Number.POSITIVE_INFINITY : Number(match[1]);
}
