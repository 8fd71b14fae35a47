import { type MediaFormat, type MediaFormatName, mediaFormat } from './media-formats.ts';

/**
 * Bytes a caller should read from the start of a file for `detectFromMagic`. Every signature
 * below fits in them; a longer header is fine and lets a few checks look further (the second
 * MPEG-TS sync byte, a late Matroska DocType, more ISO-BMFF compatible brands).
 */
export const MAGIC_HEADER_BYTES = 64;

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  if (offset + length > bytes.length) return '';
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

function hasBytes(bytes: Uint8Array, offset: number, expected: readonly number[]): boolean {
  if (offset + expected.length > bytes.length) return false;
  return expected.every((b, i) => bytes[offset + i] === b);
}

function uint32BE(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
    0
  );
}

function uint32LE(bytes: Uint8Array, offset: number): number {
  return (
    (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>>
    0
  );
}

const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs']);
const HEIF_BRANDS = new Set(['mif1', 'msf1', 'mif2', 'miaf']);
const AVIF_BRANDS = new Set(['avif', 'avis']);
const AUDIO_BRANDS = new Set(['M4A ', 'M4B ', 'M4P ', 'F4A ', 'F4B ']);

function isMp4Brand(brand: string): boolean {
  return /^(iso[2-9m]|isom|mp4[12]|avc1|dash|mmp4|XAVC|MSNV|NDAS|NDSC|NDSH|NDSM|NDSP|NDSS|NDXC|NDXH|F4V |f4v )$/.test(
    brand,
  );
}

/** ISO base media file (`....ftyp<major><minor><compatible...>`): decide by brands. */
function fromFtyp(header: Uint8Array): MediaFormatName | undefined {
  const major = ascii(header, 8, 4);
  const boxEnd = Math.min(Math.max(uint32BE(header, 0), 16), header.length);
  const compatible: string[] = [];
  for (let offset = 16; offset + 4 <= boxEnd; offset += 4) compatible.push(ascii(header, offset, 4));
  const brands = [major, ...compatible];

  if (brands.includes('crx ')) return 'cr3';
  if (AVIF_BRANDS.has(major)) return 'avif';
  if (HEIC_BRANDS.has(major)) return 'heic';
  if (major === 'qt  ') return 'mov';
  if (major.startsWith('M4V')) return 'm4v';
  if (major.startsWith('3g')) return '3gp';
  if (AUDIO_BRANDS.has(major)) return undefined;
  if (isMp4Brand(major)) return 'mp4';
  // A generic or unknown major brand (e.g. `mif1`): the compatible brands decide.
  if (compatible.some((b) => AVIF_BRANDS.has(b))) return 'avif';
  if (compatible.some((b) => HEIC_BRANDS.has(b))) return 'heic';
  if (brands.some((b) => HEIF_BRANDS.has(b))) return 'heif';
  if (compatible.includes('qt  ')) return 'mov';
  if (compatible.some(isMp4Brand)) return 'mp4';
  return undefined;
}

/** Matroska or WebM by the EBML DocType element (ID 0x4282) when it is within the header. */
function fromEbml(header: Uint8Array): MediaFormatName {
  for (let i = 4; i + 3 < header.length; i++) {
    if (header[i] !== 0x42 || header[i + 1] !== 0x82) continue;
    const sizeByte = header[i + 2]!;
    if ((sizeByte & 0x80) === 0) continue; // only 1-byte sizes are used for DocType in practice
    const docType = ascii(header, i + 3, sizeByte & 0x7f);
    if (docType === 'webm') return 'webm';
    if (docType === 'matroska') return 'mkv';
  }
  return 'mkv';
}

/**
 * An MPEG transport stream packet at `offset` (0 for .ts, 4 for the 192-byte .m2ts/.mts packets
 * that start with a timestamp). The sync byte 0x47 alone is too weak, so we also want the next
 * packet's sync byte, or, when the header is too short for that, a first packet that carries the
 * start of the PAT (PID 0, payload start, pointer field 0, table id 0) as camera files do.
 */
function isTransportStream(header: Uint8Array, offset: number, packetSize: number): boolean {
  if (header[offset] !== 0x47) return false;
  const flags = header[offset + 1] ?? 0xff;
  const control = header[offset + 3] ?? 0;
  if ((flags & 0x80) !== 0 || (control & 0x30) === 0) return false; // error bit set, or reserved field value
  if (header.length > offset + packetSize) return header[offset + packetSize] === 0x47;
  const pid = ((flags & 0x1f) << 8) | (header[offset + 2] ?? 0);
  const payloadStart = (flags & 0x40) !== 0;
  const hasPayloadOnly = (control & 0x30) === 0x10;
  return pid === 0 && payloadStart && hasPayloadOnly && header[offset + 4] === 0 && header[offset + 5] === 0;
}

function isBmp(header: Uint8Array): boolean {
  if (ascii(header, 0, 2) !== 'BM' || header.length < 18) return false;
  return [12, 16, 40, 52, 56, 64, 108, 124].includes(uint32LE(header, 14));
}

const QUICKTIME_TOP_ATOMS = new Set(['moov', 'mdat', 'wide', 'free', 'skip', 'pnot']);

function detectFormat(header: Uint8Array): MediaFormatName | undefined {
  if (hasBytes(header, 0, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (hasBytes(header, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  const first6 = ascii(header, 0, 6);
  if (first6 === 'GIF87a' || first6 === 'GIF89a') return 'gif';

  const first4 = ascii(header, 0, 4);
  if (first4 === 'RIFF') {
    const kind = ascii(header, 8, 4);
    if (kind === 'WEBP') return 'webp';
    if (kind === 'AVI ' || kind === 'AVIX') return 'avi';
    return undefined;
  }

  // TIFF and the RAW formats that look like it. ARW, NEF, DNG, PEF, SRW... are plain TIFF here:
  // only the extension tells them apart (see classifyFile).
  if (first4 === 'II*\0') return ascii(header, 8, 2) === 'CR' ? 'cr2' : 'tiff';
  if (first4 === 'MM\0*' || first4 === 'II+\0' || first4 === 'MM\0+') return 'tiff';
  if (first4 === 'IIRO' || first4 === 'IIRS' || first4 === 'MMOR') return 'orf';
  if (first4 === 'IIU\0') return 'rw2';
  if (hasBytes(header, 0, [0x49, 0x49, 0x1a, 0, 0, 0]) && ascii(header, 6, 8) === 'HEAPCCDR') return 'crw';
  if (ascii(header, 0, 15) === 'FUJIFILMCCD-RAW') return 'raf';
  if (first4 === '\0MRM') return 'mrw';
  if (first4 === 'FOVb') return 'x3f';

  const box = ascii(header, 4, 4);
  if (box === 'ftyp') return fromFtyp(header);
  if (QUICKTIME_TOP_ATOMS.has(box)) {
    const size = uint32BE(header, 0);
    if (size === 0 || size === 1 || size >= 8) return 'mov';
  }

  if (hasBytes(header, 0, [0x1a, 0x45, 0xdf, 0xa3])) return fromEbml(header);
  if (hasBytes(header, 0, [0x00, 0x00, 0x01, 0xba]) || hasBytes(header, 0, [0x00, 0x00, 0x01, 0xb3]))
    return 'mpeg';
  if (hasBytes(header, 0, [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11])) return 'wmv';
  if (hasBytes(header, 0, [0x46, 0x4c, 0x56, 0x01])) return 'flv';
  if (first4 === 'OggS') {
    const text = ascii(header, 0, Math.min(header.length, 256));
    return text.includes('\x80theora') ? 'ogv' : undefined;
  }
  if (isTransportStream(header, 0, 188) || isTransportStream(header, 4, 192)) return 'mts';
  if (isBmp(header)) return 'bmp';
  return undefined;
}

/**
 * What the first bytes of a file say it is, or undefined (empty, unknown, or a non-media format
 * such as audio-only MP4/Ogg). Pass at least `MAGIC_HEADER_BYTES` bytes when the file has them.
 * TIFF-based RAW files (ARW, NEF, DNG, PEF, SRW...) come back as `tiff`; CR2, CR3, CRW, ORF, RW2,
 * RAF, MRW and X3F are recognized by their own signatures.
 */
export function detectFromMagic(header: Uint8Array): MediaFormat | undefined {
  const format = detectFormat(header);
  return format ? mediaFormat(format) : undefined;
}
