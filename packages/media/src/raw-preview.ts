import sharp from 'sharp';
import { reserveDecode } from './decode-budget.ts';
import { exifrOrientation, exifrThumbnail } from './exifr-reader.ts';
import { type ExiftoolProcess, sharedExiftool } from './exiftool-process.ts';
import { errorMessage } from './media-error.ts';
import { withTimeout } from './timeout.ts';

/** One embedded JPEG, validated. */
export interface RawPreview {
  jpeg: Buffer;
  width: number;
  height: number;
  /** Where it came from: `exifr:thumbnail` or `exiftool:<Tag>`. */
  source: string;
}

export interface RawPreviewOptions {
  /** Default: the shared long-lived process; `false`: exifr only. */
  exiftool?: ExiftoolProcess | false;
  /**
   * Stop early when exifr's thumbnail already has this long side (px), skipping exiftool. Default
   * Infinity: always look for the largest preview.
   */
  enoughLongSide?: number;
  /** ms per step; default 20 000. */
  timeoutMs?: number;
  /** Called with each reader's failure (for logs); extraction goes on with the other readers. */
  onError?: (message: string) => void;
}

/** exiftool tags holding embedded JPEGs, largest usually first. */
export const EXIFTOOL_PREVIEW_TAGS = ['JpgFromRaw', 'PreviewImage', 'OtherImage', 'ThumbnailImage'] as const;

function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length > 4 && bytes[0] === 0xff && bytes[1] === 0xd8;
}

/** Header dimensions of a JPEG candidate, or undefined when it is not one. */
async function jpegSize(bytes: Buffer): Promise<{ width: number; height: number } | undefined> {
  if (!isJpeg(bytes)) return undefined;
  try {
    const meta = await sharp(bytes).metadata();
    if (meta.format !== 'jpeg' || !meta.width || !meta.height) return undefined;
    return { width: meta.width, height: meta.height };
  } catch {
    return undefined;
  }
}

/**
 * A candidate is valid when libvips decodes it completely (fail on error, as the corpus reference does).
 * The decode takes its share of the decode memory budget (small: JPEG shrinks on load by 8 here).
 */
async function decodesCompletely(bytes: Buffer, timeoutMs: number): Promise<boolean> {
  let release: (() => void) | undefined;
  try {
    ({ release } = await reserveDecode(bytes, {
      target: { width: 64, height: 64, fit: 'inside' },
      limitInputPixels: 200_000_000,
      timeoutMs,
    }));
    await sharp(bytes, { failOn: 'error', limitInputPixels: 200_000_000 })
      .resize(64, 64, { fit: 'inside' })
      .timeout({ seconds: Math.max(1, Math.ceil(timeoutMs / 1000)) })
      .raw()
      .toBuffer();
    return true;
  } catch {
    return false;
  } finally {
    release?.();
  }
}

async function exiftoolCandidates(
  exiftool: ExiftoolProcess,
  absPath: string,
  timeoutMs: number,
): Promise<Array<{ bytes: Buffer; source: string }>> {
  const args = ['-json', '-b', ...EXIFTOOL_PREVIEW_TAGS.map((tag) => `-${tag}`), absPath];
  const { stdout } = await exiftool.execute(args, { timeoutMs });
  const text = stdout.toString('utf8').trim();
  if (text === '') return [];
  const parsed: unknown = JSON.parse(text);
  const record = (Array.isArray(parsed) ? parsed[0] : undefined) as Record<string, unknown> | undefined;
  const candidates: Array<{ bytes: Buffer; source: string }> = [];
  for (const tag of EXIFTOOL_PREVIEW_TAGS) {
    const value = record?.[tag];
    if (typeof value === 'string' && value.startsWith('base64:')) {
      candidates.push({
        bytes: Buffer.from(value.slice('base64:'.length), 'base64'),
        source: `exiftool:${tag}`,
      });
    }
  }
  return candidates;
}

/**
 * The largest valid JPEG embedded in a RAW file (exifr's EXIF thumbnail first, then exiftool's
 * JpgFromRaw / PreviewImage / OtherImage / ThumbnailImage through the long-lived process), or
 * undefined when there is none. Valid = starts with FFD8 and libvips decodes it without error.
 * Never throws.
 */
export async function findRawPreview(
  absPath: string,
  options: RawPreviewOptions = {},
): Promise<RawPreview | undefined> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const candidates: Array<{ bytes: Buffer; source: string }> = [];
  try {
    const thumbnail = await withTimeout(exifrThumbnail(absPath), timeoutMs, 'exifr thumbnail', absPath);
    if (thumbnail) candidates.push({ bytes: Buffer.from(thumbnail), source: 'exifr:thumbnail' });
  } catch (error) {
    options.onError?.(`exifr thumbnail: ${errorMessage(error)}`);
  }

  const sized: RawPreview[] = [];
  const addSized = async (list: Array<{ bytes: Buffer; source: string }>) => {
    for (const candidate of list) {
      const size = await jpegSize(candidate.bytes);
      if (size) sized.push({ jpeg: candidate.bytes, source: candidate.source, ...size });
    }
  };
  await addSized(candidates);

  const longSide = (preview: RawPreview) => Math.max(preview.width, preview.height);
  const enough = options.enoughLongSide ?? Number.POSITIVE_INFINITY;
  const exiftool = options.exiftool === false ? undefined : (options.exiftool ?? sharedExiftool());
  if (exiftool && !sized.some((preview) => longSide(preview) >= enough)) {
    try {
      await addSized(await exiftoolCandidates(exiftool, absPath, timeoutMs));
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ExiftoolUnavailableError')) {
        options.onError?.(`exiftool previews: ${errorMessage(error)}`);
      }
    }
  }

  sized.sort((a, b) => b.width * b.height - a.width * a.height);
  for (const preview of sized) {
    if (await decodesCompletely(preview.jpeg, timeoutMs)) return preview;
  }
  return undefined;
}

/** The largest valid embedded JPEG's bytes (see findRawPreview), or undefined. Never throws. */
export async function extractRawPreview(
  absPath: string,
  options: RawPreviewOptions = {},
): Promise<Buffer | undefined> {
  return (await findRawPreview(absPath, options))?.jpeg;
}

/**
 * A RAW file's EXIF orientation (1-8): exifr first, exiftool for formats exifr cannot read (CR3, RAF).
 * Embedded previews are stored unrotated, so this is what to apply to them. Undefined when unknown.
 */
export async function readRawOrientation(
  absPath: string,
  options: { exiftool?: ExiftoolProcess | false; timeoutMs?: number } = {},
): Promise<number | undefined> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const valid = (value: unknown) =>
    typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 8 ? value : undefined;
  try {
    const fromExifr = valid(
      await withTimeout(exifrOrientation(absPath), timeoutMs, 'exifr orientation', absPath),
    );
    if (fromExifr !== undefined) return fromExifr;
  } catch {
    // fall through to exiftool
  }
  const exiftool = options.exiftool === false ? undefined : (options.exiftool ?? sharedExiftool());
  if (!exiftool) return undefined;
  try {
    const { stdout } = await exiftool.execute(['-json', '-n', '-Orientation', absPath], { timeoutMs });
    const parsed: unknown = JSON.parse(stdout.toString('utf8').trim() || '[]');
    return valid(
      (Array.isArray(parsed) ? (parsed[0] as Record<string, unknown> | undefined) : undefined)?.Orientation,
    );
  } catch {
    return undefined;
  }
}
