import { classifyFile } from '@lumen/core';
import { describe, expect, it } from 'vitest';
import { detectSourceKind, sourceKindOf } from '../src/index.ts';
import { corpusFiles, corpusPath, expectedFor } from './corpus.ts';

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(
    parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))),
  );
const ftyp = (major: string, ...compatible: string[]) =>
  bytes([0, 0, 0, 16 + compatible.length * 4], 'ftyp', major, [0, 0, 0, 0], compatible.join(''));

describe('sourceKindOf (decode path from @lumen/core classifyFile)', () => {
  it.each([
    ['a.jpg', bytes([0xff, 0xd8, 0xff, 0xe1]), 'image'],
    ['a.png', bytes([0x89], 'PNG\r\n\x1a\n'), 'image'],
    ['a.webp', bytes('RIFF', [0, 0, 0, 0], 'WEBP'), 'image'],
    ['a.tif', bytes('II*\0', [8, 0, 0, 0]), 'image'],
    ['a.avif', ftyp('avif', 'mif1', 'avif'), 'image'],
    ['a.heic', ftyp('heic', 'mif1', 'heic'), 'heif'],
    ['a.heif', ftyp('mif1', 'mif1'), 'heif'],
    ['a.NEF', bytes('MM\0*', [0, 0, 0, 8]), 'raw'],
    ['a.cr2', bytes('II*\0', [16, 0, 0, 0], 'CR'), 'raw'],
    ['a.cr3', ftyp('crx ', 'crx '), 'raw'],
    ['a.mov', ftyp('qt  ', 'qt  '), 'video'],
    ['a.mkv', bytes([0x1a, 0x45, 0xdf, 0xa3]), 'video'],
    ['a.heic', bytes([0xff, 0xd8, 0xff, 0xe0]), 'image'], // a JPEG named .heic
    ['a.jpg', bytes('plain text'), 'unknown'],
    ['a.jpg', bytes(), 'unknown'],
  ])('%s %s -> %s', (name, head, kind) => {
    expect(sourceKindOf(name, head)).toBe(kind);
  });

  it('agrees with classifyFile on the media type', () => {
    const head = bytes([0xff, 0xd8, 0xff, 0xe1]);
    expect(classifyFile('x.jpg', head)).toMatchObject({ supported: true, mediaType: 'photo' });
  });
});

describe('detectSourceKind on the corpus', () => {
  const expectedKind = (file: string) => {
    const folder = file.split('/')[0];
    if (folder === 'video') return 'video';
    if (folder === 'raw') return 'raw';
    return expectedFor(file).FileType === 'HEIC' ? 'heif' : 'image';
  };
  it.each([...corpusFiles('photo'), ...corpusFiles('raw'), ...corpusFiles('video')])('%s', async (file) => {
    expect(await detectSourceKind(corpusPath(file))).toBe(expectedKind(file));
  });

  it('follows the content of mislabeled files', async () => {
    expect(await detectSourceKind(corpusPath('broken/photoprism__wrong.heic'))).toBe('image');
    expect(await detectSourceKind(corpusPath('broken/photoprism__this-is-a-jpeg.png'))).toBe('image');
    expect(await detectSourceKind(corpusPath('broken/mei__Issue_247-1.nef'))).toBe('image');
    expect(await detectSourceKind(corpusPath('broken/photoprism__zero-bytes_2018-04-12_19_24_49.mov'))).toBe(
      'unknown',
    );
  });
});
