import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { ExiftoolProcess, extractRawPreview, findRawPreview, readRawOrientation } from '../src/index.ts';
import { corpusFiles, corpusPath, expectedFor } from './corpus.ts';

const exiftool = new ExiftoolProcess();
afterAll(() => exiftool.close());

/** The largest valid JPEG among exiftool's preview and thumbnail candidates in expected.json. */
function largestExpected(file: string): { width: number; height: number } | undefined {
  const want = expectedFor(file);
  const valid = [...want.preview.candidates, ...want.thumbnail.candidates].filter(
    (candidate) => candidate.validJpeg && candidate.width && candidate.height,
  );
  valid.sort((a, b) => (b.width ?? 0) * (b.height ?? 0) - (a.width ?? 0) * (a.height ?? 0));
  const best = valid[0];
  return best ? { width: best.width ?? 0, height: best.height ?? 0 } : undefined;
}

describe('findRawPreview on the corpus RAW files', () => {
  it.each(corpusFiles('raw'))('%s: the largest valid embedded JPEG', async (file) => {
    const want = largestExpected(file);
    const got = await findRawPreview(corpusPath(file), { exiftool });
    expect(got && { width: got.width, height: got.height }).toEqual(want);
    if (got) {
      expect(got.jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
      const meta = await sharp(got.jpeg, { failOn: 'error' }).metadata();
      expect([meta.width, meta.height]).toEqual([want?.width, want?.height]);
    }
  });

  it('uses exifr alone when exiftool is off: the EXIF thumbnail where there is one', async () => {
    const cr2 = await findRawPreview(corpusPath('raw/evanoberholster-imagemeta__CR2.cr2'), {
      exiftool: false,
    });
    expect(cr2).toMatchObject({ width: 160, height: 120, source: 'exifr:thumbnail' });
    expect(
      await extractRawPreview(corpusPath('raw/nom-exif__canon-r6.cr3'), { exiftool: false }),
    ).toBeUndefined();
  });

  it('skips exiftool when the exifr thumbnail is large enough', async () => {
    const arw = await findRawPreview(corpusPath('raw/evanoberholster-imagemeta__ARW.arw'), {
      exiftool,
      enoughLongSide: 160,
    });
    expect(arw?.source).toBe('exifr:thumbnail');
  });

  it('finds nothing, without throwing, in truncated RAW files', async () => {
    const errors: string[] = [];
    expect(
      await extractRawPreview(corpusPath('broken/mei__Issue_419.rw2'), {
        exiftool,
        onError: (e) => errors.push(e),
      }),
    ).toBeUndefined();
    expect(await extractRawPreview('/nonexistent/lumen.nef', { exiftool })).toBeUndefined();
  });

  it('reads RAW orientation through exifr, or exiftool for formats exifr cannot read', async () => {
    expect(
      await readRawOrientation(corpusPath('broken/file-type__fixture-sony-zv-e10.arw'), { exiftool: false }),
    ).toBe(6);
    expect(await readRawOrientation(corpusPath('raw/nom-exif__canon-r6.cr3'), { exiftool })).toBe(1);
    expect(
      await readRawOrientation(corpusPath('raw/nom-exif__canon-r6.cr3'), { exiftool: false }),
    ).toBeUndefined();
  });
});
