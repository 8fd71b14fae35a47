import { describe, expect, it } from 'vitest';
import { parseHeifMeta, readHeifImageInfo } from '../src/index.ts';
import { corpusPath } from './corpus.ts';

describe('readHeifImageInfo (stored size and irot of the primary HEIF image)', () => {
  it.each([
    [
      'photo/exif-samples__heic_iphone_13_pro_max.HEIC',
      { width: 4032, height: 3024, rotation: 270, transformed: true },
    ],
    ['photo/exif-samples__heic_IMG_5195.HEIC', { width: 2566, height: 3313, rotation: 0, transformed: true }],
    ['photo/mei__exif-at-eof.heic', { width: 3024, height: 4032, rotation: 0, transformed: true }],
    // EXIF Orientation 6 but no irot: the container says nothing about how to display it.
    ['photo/photoprism__iphone_7.heic', { width: 4032, height: 3024, rotation: 0, transformed: false }],
    ['photo/exifr__avif_Irvine_CA.avif', { width: 480, height: 640, rotation: 0, transformed: false }],
    ['photo/exifr__canon-dslr.jpg', undefined],
    ['broken/photoprism__wrong.heic', undefined],
    ['broken/photoprism__zero-bytes_2018-04-12_19_24_49.mov', undefined],
  ])('%s', async (file, info) => {
    expect(await readHeifImageInfo(corpusPath(file))).toEqual(info);
  });

  it('ignores truncated or foreign boxes', () => {
    expect(parseHeifMeta(Buffer.from('not a box'))).toBeUndefined();
    const header = Buffer.alloc(12);
    header.writeUInt32BE(12, 0);
    header.write('meta', 4, 'latin1');
    expect(parseHeifMeta(header)).toBeUndefined();
  });
});
