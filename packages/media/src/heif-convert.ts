import { constants } from 'node:fs';
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { errorMessage, MediaError, MediaTimeoutError } from './media-error.ts';
import { runTool } from './tool-process.ts';

/**
 * libheif's command-line decoder (Debian package `libheif-examples`). It decodes HEVC-coded HEIC/HEIF,
 * which sharp's prebuilt libheif (AVIF only) and Debian's ffmpeg 5.1 cannot.
 */
export const HEIF_CONVERT_COMMAND = 'heif-convert';

export interface HeifConvertOptions {
  /** ms for the whole decode; default 30 000. The process is killed when it runs longer. */
  timeoutMs?: number;
  /** JPEG quality of the decoded image; default 90 (it is only an intermediate). */
  quality?: number;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first `command` on PATH, or undefined. */
async function findOnPath(command: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && (await isExecutable(join(dir, command)))) return join(dir, command);
  }
  return undefined;
}

let heifConvertLookup: Promise<boolean> | undefined;

/** Whether heif-convert is on PATH. Looked up once per process (installing it needs a restart). */
export function isHeifConvertAvailable(): Promise<boolean> {
  heifConvertLookup ??= findOnPath(HEIF_CONVERT_COMMAND).then((path) => path !== undefined);
  return heifConvertLookup;
}

/** The decoded primary image: `decoded.jpg`, or the first numbered one when the file holds several. */
function pickDecodedImage(names: string[]): string | undefined {
  if (names.includes('decoded.jpg')) return 'decoded.jpg';
  const numbered = names.filter((name) => /^decoded-\d+\.jpg$/.test(name));
  return numbered.sort((a, b) => Number.parseInt(a.slice(8), 10) - Number.parseInt(b.slice(8), 10))[0];
}

/**
 * Decodes a HEIC/HEIF file to full-size JPEG bytes with heif-convert, in a private temporary folder that
 * is removed afterwards (heif-convert may write more files than asked: one per top-level image, depth
 * and other auxiliary images).
 *
 * Orientation: heif-convert applies the container's own transforms (`irot`, `imir`), so the pixels are
 * upright when the file has them. libheif 1.15 still copies the EXIF Orientation tag into the JPEG
 * unchanged: do not auto-orient these bytes by their EXIF (see renderImageDerivatives).
 */
export async function decodeWithHeifConvert(
  absPath: string,
  options: HeifConvertOptions = {},
): Promise<Buffer> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const dir = await mkdtemp(join(tmpdir(), 'lumen-heif-'));
  try {
    try {
      await runTool(
        HEIF_CONVERT_COMMAND,
        ['--quiet', '-q', String(options.quality ?? 90), '--', resolve(absPath), join(dir, 'decoded.jpg')],
        { timeout: timeoutMs, killSignal: 'SIGKILL', stdin: 'ignore', stdout: 'ignore' },
      );
    } catch (error) {
      if ((error as { timedOut?: boolean }).timedOut) {
        throw new MediaTimeoutError('heif-convert', absPath, timeoutMs);
      }
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
      const message = stderr.split('\n').slice(-2).join(' ') || errorMessage(error);
      throw new MediaError('heif-convert', absPath, message, { cause: error });
    }
    const decoded = pickDecodedImage(await readdir(dir));
    if (!decoded) throw new MediaError('heif-convert', absPath, 'heif-convert wrote no image');
    return await readFile(join(dir, decoded));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
