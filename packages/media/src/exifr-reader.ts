import exifr from 'exifr';

/**
 * exifr, called so that its file handle is always closed. exifr's own helpers (exifr.parse,
 * exifr.thumbnail, exifr.orientation with a path) close the file only on their success path: an
 * unknown format, a missing thumbnail or a parse error leaves the handle to the garbage collector
 * (Node warns "Closing file descriptor on garbage collection"; a long scan could run out of them).
 */

type ExifrOptions = NonNullable<ConstructorParameters<typeof exifr.Exifr>[0]>;
type ExifrInstance = InstanceType<typeof exifr.Exifr> & { file?: { close?: () => unknown } };

async function withExifr<T>(
  absPath: string,
  options: ExifrOptions,
  use: (instance: ExifrInstance) => Promise<T>,
): Promise<T> {
  const instance = new exifr.Exifr(options) as ExifrInstance;
  try {
    await instance.read(absPath);
    return await use(instance);
  } finally {
    await instance.file?.close?.();
  }
}

/** exifr.parse on a path (exifr reads only the chunks it needs, usually the first few KB). */
export function exifrParse(absPath: string, options: ExifrOptions): Promise<unknown> {
  return withExifr(absPath, options, (instance) => instance.parse());
}

const DISABLE_ALL: ExifrOptions = {
  ifd0: false as unknown as ExifrOptions['ifd0'],
  ifd1: false,
  exif: false,
  gps: false,
  interop: false,
  sanitize: false,
  reviveValues: true,
  translateKeys: false,
  translateValues: false,
  mergeOutput: false,
};

/** The EXIF IFD1 thumbnail (a small JPEG), as exifr.thumbnail, or undefined. */
export async function exifrThumbnail(absPath: string): Promise<Buffer | undefined> {
  const thumbnail = await withExifr(absPath, { ...DISABLE_ALL, tiff: false, ifd1: true }, (instance) =>
    instance.extractThumbnail(),
  );
  return thumbnail ? Buffer.from(thumbnail) : undefined;
}

const TAG_ORIENTATION = 0x0112;

/** The IFD0 orientation tag, as exifr.orientation, or undefined. */
export async function exifrOrientation(absPath: string): Promise<unknown> {
  const output = (await exifrParse(absPath, {
    ...DISABLE_ALL,
    firstChunkSize: 40_000,
    ifd0: [TAG_ORIENTATION] as unknown as ExifrOptions['ifd0'],
  })) as { ifd0?: Record<number, unknown> } | undefined;
  return output?.ifd0?.[TAG_ORIENTATION];
}
