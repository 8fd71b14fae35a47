import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  classifyFile,
  detectFromMagic,
  fileExtension,
  formatFromExtension,
  MAGIC_HEADER_BYTES,
  MEDIA_EXTENSIONS,
  type MediaType,
  mediaTypeFromExtension,
} from '../src/index.ts';

const CORPUS = path.resolve(import.meta.dirname, '../../../fixtures/corpus');

function readHeader(file: string, bytes = MAGIC_HEADER_BYTES): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const read = fs.readSync(fd, buffer, 0, bytes, 0);
    return new Uint8Array(buffer.subarray(0, read));
  } finally {
    fs.closeSync(fd);
  }
}

/** Bytes from a mix of numbers and latin1 strings. */
function bytes(...parts: (string | number | number[] | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') out.push(part);
    else if (typeof part !== 'string') out.push(...part);
    else for (const c of part) out.push(c.charCodeAt(0));
  }
  return new Uint8Array(out);
}

/** An ISO-BMFF `ftyp` box with the given brands. */
function ftyp(major: string, ...compatible: string[]): Uint8Array {
  const size = 16 + 4 * compatible.length;
  return bytes([0, 0, 0, size], 'ftyp', major, [0, 0, 0, 0], ...compatible);
}

describe('mediaTypeFromExtension', () => {
  const photo = ['jpg', 'jpeg', 'jpe', 'png', 'webp', 'gif', 'tif', 'tiff', 'heic', 'heif', 'avif', 'bmp'];
  const raw = [
    'arw',
    'nef',
    'cr2',
    'cr3',
    'dng',
    'raf',
    'orf',
    'rw2',
    'pef',
    'srw',
    'nrw',
    'rwl',
    '3fr',
    'iiq',
    'erf',
  ];
  const video = [
    'mp4',
    'mov',
    'mkv',
    'avi',
    'webm',
    'm4v',
    '3gp',
    'mts',
    'm2ts',
    'mpg',
    'mpeg',
    'wmv',
    'flv',
    'ogv',
  ];
  const cases: [string, MediaType | undefined][] = [
    ...photo.map((ext): [string, MediaType] => [`a.${ext}`, 'photo']),
    ...raw.map((ext): [string, MediaType] => [`a.${ext}`, 'raw']),
    ...video.map((ext): [string, MediaType] => [`a.${ext}`, 'video']),
    ['IMG_0001.JPG', 'photo'],
    ['IMG_0001.JpEg', 'photo'],
    ['DSC00001.ARW', 'raw'],
    ['clip.MOV', 'video'],
    ['2024/summer/IMG.HEIC', 'photo'],
    ['my.photo.archive.nef', 'raw'],
    ['photo.jpg.zip', undefined],
    ['dir.jpg/README', undefined],
    ['noextension', undefined],
    ['.jpg', undefined],
    ['trailingdot.', undefined],
    ['notes.txt', undefined],
    ['source.ts', undefined],
    ['x.constructor', undefined],
    ['x.__proto__', undefined],
    ['x.toString', undefined],
    ['', undefined],
  ];
  it.each(cases)('%j -> %s', (fileName, expected) => {
    expect(mediaTypeFromExtension(fileName)).toBe(expected);
  });

  it('lists every extension once, in lower case', () => {
    expect(new Set(MEDIA_EXTENSIONS).size).toBe(MEDIA_EXTENSIONS.length);
    for (const ext of [...photo, ...raw, ...video]) expect(MEDIA_EXTENSIONS).toContain(ext);
    for (const ext of MEDIA_EXTENSIONS) expect(ext).toBe(ext.toLowerCase());
  });

  it.each([
    ['a.JPG', 'jpg'],
    ['a/b.c/d.Tar.GZ', 'gz'],
    ['a\\b.PNG', 'png'],
    ['.hidden', ''],
    ['none', ''],
  ])('fileExtension(%j) = %j', (name, ext) => {
    expect(fileExtension(name)).toBe(ext);
  });

  it('gives format and MIME type for an extension', () => {
    expect(formatFromExtension('x.JPE')).toMatchObject({
      format: 'jpeg',
      mime: 'image/jpeg',
      mediaType: 'photo',
    });
    expect(formatFromExtension('x.m2ts')).toMatchObject({
      format: 'mts',
      mime: 'video/mp2t',
      mediaType: 'video',
    });
    expect(formatFromExtension('x.dng')).toMatchObject({
      format: 'dng',
      mime: 'image/x-adobe-dng',
      mediaType: 'raw',
    });
  });
});

describe('detectFromMagic on synthetic headers', () => {
  const riff = (kind: string) => bytes('RIFF', [0x10, 0, 0, 0], kind, 'VP8 ');
  const tsPacket = (pid: number, pointer: number[]) =>
    bytes(0x47, 0x40 | (pid >> 8), pid & 0xff, 0x10, pointer, new Array(40).fill(0xff));
  const cases: [string, Uint8Array, string | undefined][] = [
    ['JPEG', bytes([0xff, 0xd8, 0xff, 0xe0], [0, 0x10], 'JFIF'), 'jpeg'],
    ['JPEG without APP0', bytes([0xff, 0xd8, 0xff, 0xdb]), 'jpeg'],
    ['PNG', bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a]), 'png'],
    ['GIF87a', bytes('GIF87a'), 'gif'],
    ['GIF89a', bytes('GIF89a', [1, 0, 1, 0]), 'gif'],
    ['WebP', riff('WEBP'), 'webp'],
    ['AVI', riff('AVI '), 'avi'],
    ['RIFF WAVE is not media', riff('WAVE'), undefined],
    ['TIFF little-endian', bytes('II*', 0, [8, 0, 0, 0]), 'tiff'],
    ['TIFF big-endian', bytes('MM', 0, '*', [0, 0, 0, 8]), 'tiff'],
    ['BigTIFF', bytes('II+', 0, [8, 0, 0, 0]), 'tiff'],
    ['CR2 (TIFF with CR at 8)', bytes('II*', 0, [0x10, 0, 0, 0], 'CR', [2, 0]), 'cr2'],
    ['ORF IIRO', bytes('IIRO', [8, 0, 0, 0]), 'orf'],
    ['ORF IIRS', bytes('IIRS', [8, 0, 0, 0]), 'orf'],
    ['ORF MMOR', bytes('MMOR', [0, 0, 0, 8]), 'orf'],
    ['RW2', bytes('IIU', 0, [0x18, 0, 0, 0]), 'rw2'],
    ['RAF', bytes('FUJIFILMCCD-RAW 0201'), 'raf'],
    ['CRW', bytes('II', [0x1a, 0, 0, 0], 'HEAPCCDR'), 'crw'],
    ['MRW', bytes(0, 'MRM', [0, 0, 0, 0]), 'mrw'],
    ['X3F', bytes('FOVb', [0, 0, 2, 0]), 'x3f'],
    ['HEIC', ftyp('heic', 'mif1', 'heic'), 'heic'],
    ['HEIF mif1+heic', ftyp('mif1', 'mif1', 'heic'), 'heic'],
    ['HEIF mif1 only', ftyp('mif1', 'mif1', 'miaf'), 'heif'],
    ['AVIF', ftyp('avif', 'mif1', 'avif', 'miaf'), 'avif'],
    ['AVIF under mif1', ftyp('mif1', 'avif', 'mif1', 'miaf'), 'avif'],
    ['CR3', ftyp('crx ', 'crx ', 'isom'), 'cr3'],
    ['MP4 isom', ftyp('isom', 'isom', 'iso2', 'avc1', 'mp41'), 'mp4'],
    ['MP4 mp42', ftyp('mp42', 'mp42', 'isom'), 'mp4'],
    ['Sony XAVC', ftyp('XAVC', 'XAVC', 'iso6'), 'mp4'],
    ['unknown major, mp4 compatible', ftyp('abcd', 'isom'), 'mp4'],
    ['MOV ftyp qt', ftyp('qt  ', 'qt  '), 'mov'],
    ['MOV without ftyp (moov first)', bytes([0, 0, 0, 0x6c], 'moov', [0, 0, 0, 0x6c], 'mvhd'), 'mov'],
    ['MOV without ftyp (wide, mdat)', bytes([0, 0, 0, 8], 'wide', [0, 0, 0, 0x20], 'mdat'), 'mov'],
    ['M4V', ftyp('M4V ', 'M4V ', 'M4A ', 'mp42', 'isom'), 'm4v'],
    ['3GP', ftyp('3gp5', '3gp5', '3gp4'), '3gp'],
    ['3G2', ftyp('3g2a', '3g2a'), '3gp'],
    ['M4A audio is not media', ftyp('M4A ', 'M4A ', 'mp42', 'isom'), undefined],
    ['ftyp with unknown brands', ftyp('zzzz', 'yyyy'), undefined],
    ['WebM', bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1, 0x42, 0x82, 0x84], 'webm'), 'webm'],
    ['Matroska', bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88], 'matroska'), 'mkv'],
    ['EBML without visible DocType', bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1]), 'mkv'],
    ['MPEG-TS with PAT first', tsPacket(0, [0, 0, 0xb0, 0x0d]), 'mts'],
    ['M2TS (4-byte timestamp, PAT)', bytes([0x00, 0xe5, 0x62, 0xf0], tsPacket(0, [0, 0, 0xb0, 0x11])), 'mts'],
    [
      'MPEG-TS, second sync byte visible',
      bytes(tsPacket(0x100, [0x12, 0x34]), new Array(188 - 46).fill(0), 0x47, 0x41, 0x00, 0x10),
      'mts',
    ],
    [
      'MPEG-TS, second sync byte wrong',
      bytes(tsPacket(0x100, [0x12, 0x34]), new Array(188 - 46).fill(0), 0x48),
      undefined,
    ],
    ['MPEG-TS other PID, too short to confirm', tsPacket(0x100, [0x12, 0x34]), undefined],
    ['text starting with G', bytes('Ghello world, this is text'), undefined],
    ['MPEG program stream', bytes([0, 0, 1, 0xba, 0x44, 0, 4, 0, 4, 1]), 'mpeg'],
    ['MPEG video elementary stream', bytes([0, 0, 1, 0xb3, 0x16, 0, 0xf0, 0x13]), 'mpeg'],
    ['ASF/WMV', bytes([0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9]), 'wmv'],
    ['FLV', bytes('FLV', [1, 5, 0, 0, 0, 9]), 'flv'],
    ['Ogg Theora', bytes('OggS', [0, 2], new Array(22).fill(0), [1, 42], [0x80], 'theora'), 'ogv'],
    [
      'Ogg Vorbis is audio',
      bytes('OggS', [0, 2], new Array(22).fill(0), [1, 30], [0x01], 'vorbis'),
      undefined,
    ],
    ['BMP', bytes('BM', [0x36, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0, 40, 0, 0, 0]), 'bmp'],
    ['BM text is not BMP', bytes('BM is also how this line starts'), undefined],
    ['PDF', bytes('%PDF-1.7\n'), undefined],
    ['ZIP', bytes('PK', [3, 4, 20, 0]), undefined],
    ['plain text', bytes('hello world'), undefined],
    ['one byte of a JPEG', bytes([0xff]), undefined],
    ['two bytes of a JPEG', bytes([0xff, 0xd8]), undefined],
    ['three zero bytes', bytes([0, 0, 0]), undefined],
    ['empty', new Uint8Array(0), undefined],
    ['64 zero bytes', new Uint8Array(64), undefined],
  ];

  it.each(cases)('%s', (_name, header, expected) => {
    expect(detectFromMagic(header)?.format).toBe(expected);
  });

  it('returns media type and MIME type with the format', () => {
    expect(detectFromMagic(ftyp('heic', 'mif1', 'heic'))).toEqual({
      format: 'heic',
      mediaType: 'photo',
      mime: 'image/heic',
      family: 'heif',
    });
    expect(detectFromMagic(ftyp('crx ', 'crx '))).toMatchObject({
      mediaType: 'raw',
      mime: 'image/x-canon-cr3',
    });
    expect(detectFromMagic(ftyp('qt  '))).toMatchObject({ mediaType: 'video', mime: 'video/quicktime' });
  });
});

describe('detectFromMagic on the corpus (first 64 bytes of every file)', () => {
  const expectedByDir: Record<string, MediaType> = { photo: 'photo', raw: 'raw', video: 'video' };
  const files = Object.keys(expectedByDir).flatMap((dir) =>
    fs
      .readdirSync(path.join(CORPUS, dir))
      .sort()
      .map((name): [string, string] => [dir, name]),
  );

  it('finds the corpus', () => {
    expect(files.length).toBeGreaterThan(60);
  });

  it.each(files)('%s/%s', (dir, name) => {
    const header = readHeader(path.join(CORPUS, dir, name));
    const detected = detectFromMagic(header);
    expect(detected).toBeDefined();
    const classified = classifyFile(name, header);
    expect(classified).toMatchObject({
      supported: true,
      mediaType: expectedByDir[dir],
      extensionMismatch: false,
    });
    if (dir === 'raw') {
      // TIFF-based RAWs look like TIFF; the rest have their own signature.
      expect(detected!.mediaType === 'raw' || detected!.format === 'tiff').toBe(true);
      expect(classified.supported && classified.format).toBe(formatFromExtension(name)!.format);
    } else {
      expect(detected!.mediaType).toBe(expectedByDir[dir]);
    }
  });

  it.each([
    ['photo/exif-samples__heic_IMG_5195.HEIC', 'heic', 'heic'],
    ['photo/exif-samples__heic_HMD_Nokia_8.3_5G_hdr.heif', 'heic', 'heic'],
    ['photo/exifr__avif_Irvine_CA.avif', 'avif', 'avif'],
    ['photo/exif-samples__tiff_BSG1.tiff', 'tiff', 'tiff'],
    ['photo/mei__Animation_Lossy.webp', 'webp', 'webp'],
    ['photo/mei__Issue_201.gif', 'gif', 'gif'],
    ['photo/nom-exif__exif.png', 'png', 'png'],
    ['raw/evanoberholster-imagemeta__CR2.cr2', 'cr2', 'cr2'],
    ['raw/evanoberholster-imagemeta__ARW.arw', 'tiff', 'arw'],
    ['raw/evanoberholster-imagemeta__NEF.nef', 'tiff', 'nef'],
    ['raw/photoprism__canon_eos_6d.dng', 'tiff', 'dng'],
    ['raw/bep-imagemeta__jolstravatnet.pef', 'tiff', 'pef'],
    ['raw/nom-exif__canon-r6.cr3', 'cr3', 'cr3'],
    ['raw/exiftool__FujiFilm.raf', 'raf', 'raf'],
    ['raw/exiftool__Panasonic.rw2', 'rw2', 'rw2'],
    ['raw/evanoberholster-imagemeta__CRW.crw', 'crw', 'crw'],
    ['video/file-type__fixture.m4v', 'm4v', 'm4v'],
    ['video/mei__100_0306.AVI', 'avi', 'avi'],
    ['video/mei__Sony_ILCE-7M3.mts', 'mts', 'mts'],
    ['video/mei__sample.3gp', '3gp', '3gp'],
    ['video/mei__sample_mpeg4.mp4', 'mp4', 'mp4'],
    ['video/mei__with-gps.mov', 'mov', 'mov'],
    ['video/photoprism__quicktime-hvc1.mov', 'mov', 'mov'],
    ['video/nom-exif__mkv_640x360.mkv', 'mkv', 'mkv'],
    ['video/nom-exif__webm_480.webm', 'webm', 'webm'],
  ])('%s: magic says %s, classified as %s', (file, magic, classified) => {
    const header = readHeader(path.join(CORPUS, file));
    expect(detectFromMagic(header)?.format).toBe(magic);
    expect(classifyFile(path.basename(file), header)).toMatchObject({ supported: true, format: classified });
  });
});

describe('classifyFile', () => {
  it.each([
    // broken/ corpus files: the content decides
    [
      'broken/photoprism__this-is-a-jpeg.png',
      { supported: true, format: 'jpeg', mediaType: 'photo', extensionMismatch: true },
    ],
    [
      'broken/photoprism__wrong.heic',
      { supported: true, format: 'jpeg', mediaType: 'photo', extensionMismatch: true },
    ],
    [
      'broken/mei__Issue_247-1.nef',
      { supported: true, format: 'jpeg', mediaType: 'photo', extensionMediaType: 'raw' },
    ],
    ['broken/file-type__fixture-sony-zv-e10.arw', { supported: true, format: 'arw', mediaType: 'raw' }],
    ['broken/mei__Issue_419.rw2', { supported: true, format: 'rw2', mediaType: 'raw' }],
    ['broken/nom-exif__sony-a7-xavc.MP4', { supported: true, format: 'mp4', mediaType: 'video' }],
    ['broken/libvips__truncated.gif', { supported: true, format: 'gif', extensionMismatch: false }],
    ['broken/libvips__truncated.jpg', { supported: true, format: 'jpeg', extensionMismatch: false }],
    [
      'broken/photoprism__zero-bytes_2018-04-12_19_24_49.mov',
      { supported: false, code: 'file.empty', extensionMediaType: 'video' },
    ],
  ])('%s', (file, expected) => {
    expect(classifyFile(path.basename(file), readHeader(path.join(CORPUS, file)))).toMatchObject(expected);
  });

  it.each([
    [
      'TIFF named .tif stays a photo',
      'scan.tif',
      bytes('II*', 0, [8, 0, 0, 0]),
      { format: 'tiff', mediaType: 'photo' },
    ],
    ['TIFF named .NEF is a RAW', 'DSC_0001.NEF', bytes('MM', 0, '*'), { format: 'nef', mediaType: 'raw' }],
    ['TIFF named .dng is a RAW', 'x.dng', bytes('II*', 0), { format: 'dng', mime: 'image/x-adobe-dng' }],
    [
      'TIFF named .jpg is a TIFF photo',
      'x.jpg',
      bytes('II*', 0),
      { format: 'tiff', extensionMismatch: true },
    ],
    ['TIFF with no extension', 'x', bytes('II*', 0), { format: 'tiff', extensionMediaType: undefined }],
    ['CR2 named .nef keeps the content', 'x.nef', bytes('II*', 0, [0x10, 0, 0, 0], 'CR'), { format: 'cr2' }],
    [
      'MP4 named .mov is fine (same container)',
      'x.mov',
      ftyp('isom', 'isom'),
      { format: 'mp4', extensionMismatch: false },
    ],
    [
      'MP4 named .jpg is a video',
      'x.jpg',
      ftyp('isom', 'isom'),
      { mediaType: 'video', extensionMismatch: true },
    ],
    [
      'JPEG named .mp4 is a photo',
      'x.mp4',
      bytes([0xff, 0xd8, 0xff, 0xe0]),
      { mediaType: 'photo', extensionMismatch: true },
    ],
  ])('%s', (_name, fileName, header, expected) => {
    expect(classifyFile(fileName, header)).toMatchObject({ supported: true, ...expected });
  });

  it('gives a reason for unknown content', () => {
    const result = classifyFile('._IMG_0001.JPG', bytes([0, 5, 0x16, 7, 0, 2, 0, 0], 'Mac OS X'));
    expect(result).toEqual({
      supported: false,
      code: 'file.unknown-format',
      reason: 'the content matches no supported format (starts with 00 05 16 07 00 02 00 00)',
      extensionMediaType: 'photo',
    });
  });

  it('gives a reason for an empty file', () => {
    expect(classifyFile('a.jpg', new Uint8Array(0))).toEqual({
      supported: false,
      code: 'file.empty',
      reason: 'the file is empty',
      extensionMediaType: 'photo',
    });
  });
});
