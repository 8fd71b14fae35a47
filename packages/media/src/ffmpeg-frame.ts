import { errorMessage, MediaError, MediaTimeoutError } from './media-error.ts';
import { runTool } from './tool-process.ts';

export interface FrameOptions {
  /** Seek position in seconds; 0 = first frame. */
  atSec?: number;
  /** Longest side of the returned frame, px (aspect kept, never enlarged); default 1440. */
  maxLongSide?: number;
  /** ms; default 30 000. */
  timeoutMs?: number;
  /** ffmpeg executable; default `ffmpeg`. */
  ffmpegPath?: string;
}

/**
 * `file:` keeps ffmpeg from reading a colon in a file name as a protocol (`a:b.mov`); an absolute path
 * keeps a leading `-` from being read as an option.
 */
export function ffmpegInput(absPath: string): string {
  return `file:${absPath}`;
}

/**
 * One frame as JPEG bytes through ffmpeg (autorotated: ffmpeg applies the display matrix by default).
 * Resolves undefined when ffmpeg ran but produced no frame (e.g. a seek past the end); throws a
 * MediaError when it failed or timed out.
 */
export async function grabFrame(absPath: string, options: FrameOptions = {}): Promise<Buffer | undefined> {
  const atSec = options.atSec ?? 0;
  const maxLongSide = options.maxLongSide ?? 1440;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const args = [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    ...(atSec > 0 ? ['-ss', String(atSec)] : []),
    '-i',
    ffmpegInput(absPath),
    '-map',
    '0:v:0',
    '-frames:v',
    '1',
    '-vf',
    `scale=w='min(iw,${maxLongSide})':h='min(ih,${maxLongSide})':force_original_aspect_ratio=decrease`,
    '-f',
    'image2pipe',
    '-c:v',
    'mjpeg',
    '-q:v',
    '2',
    'pipe:1',
  ];
  try {
    const result = await runTool(options.ffmpegPath ?? 'ffmpeg', args, {
      encoding: 'buffer',
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      stdin: 'ignore',
      maxBuffer: 256 * 1024 * 1024,
    });
    const frame = Buffer.from(result.stdout);
    return frame.length > 0 ? frame : undefined;
  } catch (error) {
    if ((error as { timedOut?: boolean }).timedOut)
      throw new MediaTimeoutError('ffmpeg frame', absPath, timeoutMs);
    const stderr = Buffer.from((error as { stderr?: Uint8Array }).stderr ?? [])
      .toString('utf8')
      .trim();
    const message = stderr.split('\n').slice(-2).join(' ') || errorMessage(error);
    throw new MediaError('ffmpeg frame', absPath, message, { cause: error });
  }
}

/**
 * ffmpeg fallback decode for stills sharp cannot read (HEIC without a libheif HEVC decoder, RAW without
 * a usable embedded preview): the first frame as JPEG bytes, long side at most `maxLongSide`.
 */
export async function decodeWithFfmpeg(
  absPath: string,
  options: Omit<FrameOptions, 'atSec'> = {},
): Promise<Buffer> {
  const frame = await grabFrame(absPath, { ...options, atSec: 0 });
  if (!frame) throw new MediaError('ffmpeg decode', absPath, 'ffmpeg produced no image');
  return frame;
}
