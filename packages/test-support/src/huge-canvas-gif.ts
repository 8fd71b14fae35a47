/**
 * A GIF whose logical screen is `side` x `side` and whose only frame is one pixel in the far corner:
 * about 35 bytes. libnsgif (libvips' GIF loader) ignores screen sizes above 2048 but grows the canvas
 * to cover every frame, so the frame's offset is what makes a decode allocate side² x 4 bytes
 * (784 MB for 14000 x 14000, under the 200 MP input limit): the decompression bomb of issue 11.
 * `seed` varies the palette so that each file has its own content hash.
 */
export function hugeCanvasGif(side: number, seed = 0): Buffer {
  if (!Number.isInteger(side) || side < 2 || side > 65_535) throw new RangeError(`bad GIF side ${side}`);
  const u16 = (n: number) => Buffer.from([n & 0xff, (n >> 8) & 0xff]);
  return Buffer.concat([
    Buffer.from('GIF89a', 'ascii'),
    u16(side),
    u16(side),
    Buffer.from([0x80, 0, 0]), // a global colour table of 2 entries
    Buffer.from([seed & 0xff, (seed >> 8) & 0xff, 7, 255, 255, 255]),
    Buffer.from([0x2c]), // image descriptor: a 1 x 1 frame at (side - 1, side - 1)
    u16(side - 1),
    u16(side - 1),
    u16(1),
    u16(1),
    Buffer.from([0]),
    // LZW, minimum code size 2: clear (4), index 0, end (5) as 3-bit codes, then the block end.
    Buffer.from([2, 2, 0x44, 0x01, 0]),
    Buffer.from([0x3b]),
  ]);
}
