/**
 * Every media format the product knows: its media type, MIME type and container family
 * (formats of one family share a container, so a `.mp4` holding a QuickTime movie is no surprise),
 * and the file extensions that name it.
 */

export type MediaType = 'photo' | 'raw' | 'video';

export interface MediaFormat {
  /** Short stable name, e.g. `jpeg`, `heic`, `arw`, `mp4`. */
  format: string;
  mediaType: MediaType;
  mime: string;
  family: string;
}

type FormatInfo = Omit<MediaFormat, 'format'>;

const photo = (mime: string, family: string): FormatInfo => ({ mediaType: 'photo', mime, family });
const raw = (mime: string): FormatInfo => ({ mediaType: 'raw', mime, family: 'raw' });
const video = (mime: string, family: string): FormatInfo => ({ mediaType: 'video', mime, family });

export const MEDIA_FORMATS = {
  jpeg: photo('image/jpeg', 'jpeg'),
  png: photo('image/png', 'png'),
  gif: photo('image/gif', 'gif'),
  webp: photo('image/webp', 'webp'),
  tiff: photo('image/tiff', 'tiff'),
  bmp: photo('image/bmp', 'bmp'),
  heic: photo('image/heic', 'heif'),
  heif: photo('image/heif', 'heif'),
  avif: photo('image/avif', 'avif'),

  arw: raw('image/x-sony-arw'),
  nef: raw('image/x-nikon-nef'),
  nrw: raw('image/x-nikon-nrw'),
  cr2: raw('image/x-canon-cr2'),
  cr3: raw('image/x-canon-cr3'),
  crw: raw('image/x-canon-crw'),
  dng: raw('image/x-adobe-dng'),
  raf: raw('image/x-fuji-raf'),
  orf: raw('image/x-olympus-orf'),
  rw2: raw('image/x-panasonic-rw2'),
  rwl: raw('image/x-leica-rwl'),
  pef: raw('image/x-pentax-pef'),
  srw: raw('image/x-samsung-srw'),
  '3fr': raw('image/x-hasselblad-3fr'),
  iiq: raw('image/x-phaseone-iiq'),
  erf: raw('image/x-epson-erf'),
  kdc: raw('image/x-kodak-kdc'),
  mrw: raw('image/x-minolta-mrw'),
  x3f: raw('image/x-sigma-x3f'),

  mp4: video('video/mp4', 'isobmff'),
  m4v: video('video/x-m4v', 'isobmff'),
  mov: video('video/quicktime', 'isobmff'),
  '3gp': video('video/3gpp', 'isobmff'),
  mkv: video('video/x-matroska', 'matroska'),
  webm: video('video/webm', 'matroska'),
  avi: video('video/x-msvideo', 'avi'),
  mts: video('video/mp2t', 'mpeg-ts'),
  mpeg: video('video/mpeg', 'mpeg-ps'),
  wmv: video('video/x-ms-wmv', 'asf'),
  flv: video('video/x-flv', 'flv'),
  ogv: video('video/ogg', 'ogg'),
} as const satisfies Record<string, FormatInfo>;

export type MediaFormatName = keyof typeof MEDIA_FORMATS;

/** Lower-case extension (no dot) -> format. */
const EXTENSION_FORMATS = new Map<string, MediaFormatName>(
  Object.entries({
    jpg: 'jpeg',
    jpeg: 'jpeg',
    jpe: 'jpeg',
    png: 'png',
    gif: 'gif',
    webp: 'webp',
    tif: 'tiff',
    tiff: 'tiff',
    bmp: 'bmp',
    heic: 'heic',
    heif: 'heif',
    hif: 'heif',
    avif: 'avif',

    arw: 'arw',
    nef: 'nef',
    nrw: 'nrw',
    cr2: 'cr2',
    cr3: 'cr3',
    crw: 'crw',
    dng: 'dng',
    raf: 'raf',
    orf: 'orf',
    rw2: 'rw2',
    rwl: 'rwl',
    pef: 'pef',
    srw: 'srw',
    '3fr': '3fr',
    iiq: 'iiq',
    erf: 'erf',
    kdc: 'kdc',
    mrw: 'mrw',
    x3f: 'x3f',

    mp4: 'mp4',
    m4v: 'm4v',
    mov: 'mov',
    qt: 'mov',
    '3gp': '3gp',
    '3g2': '3gp',
    mkv: 'mkv',
    webm: 'webm',
    avi: 'avi',
    mts: 'mts',
    m2ts: 'mts',
    mpg: 'mpeg',
    mpeg: 'mpeg',
    wmv: 'wmv',
    asf: 'wmv',
    flv: 'flv',
    ogv: 'ogv',
  } satisfies Record<string, MediaFormatName>),
);

/** Every extension (lower case, no dot) that names a media file, e.g. for scan filters. */
export const MEDIA_EXTENSIONS: readonly string[] = [...EXTENSION_FORMATS.keys()];

export function mediaFormat(format: MediaFormatName): MediaFormat {
  return { format, ...MEDIA_FORMATS[format] };
}

/** `IMG.JPG` -> `jpg`, `a/b.tar.gz` -> `gz`; `''` when there is none (also for `.hidden`). */
export function fileExtension(fileName: string): string {
  const base = fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** The format an extension names (case-insensitive), or undefined. */
export function formatFromExtension(fileName: string): MediaFormat | undefined {
  const format = EXTENSION_FORMATS.get(fileExtension(fileName));
  return format ? mediaFormat(format) : undefined;
}

/** `photo`, `raw` or `video` from the extension alone (case-insensitive), or undefined. */
export function mediaTypeFromExtension(fileName: string): MediaType | undefined {
  return formatFromExtension(fileName)?.mediaType;
}
