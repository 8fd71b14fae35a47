import sharp from 'sharp';

let baseJpeg: Promise<Buffer> | undefined;

/**
 * A small valid JPEG whose bytes are its own: a COM segment right after SOI carries `label`, so
 * every label gives a file with its own content hash, and every decoder reads the same picture.
 * Made once per process from a 24x16 solid image; each call costs a Buffer.concat.
 */
export async function uniqueJpeg(label: string): Promise<Buffer> {
  baseJpeg ??= sharp({
    create: { width: 24, height: 16, channels: 3, background: { r: 40, g: 120, b: 200 } },
  })
    .jpeg({ quality: 80 })
    .toBuffer();
  const base = await baseJpeg;
  const text = Buffer.from(`lumen test ${label}`);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(text.length + 2);
  return Buffer.concat([base.subarray(0, 2), Buffer.from([0xff, 0xfe]), length, text, base.subarray(2)]);
}
