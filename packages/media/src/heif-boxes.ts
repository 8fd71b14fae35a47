import { open } from 'node:fs/promises';

/**
 * The size of a HEIF/HEIC/AVIF primary image as stored (the `ispe` property, before the `irot`
 * rotation), read from the ISO-BMFF `meta` box. libheif (and so sharp) reports the size after the
 * rotation; the database stores the size before orientation, like exiftool does.
 */
export interface HeifImageInfo {
  width: number;
  height: number;
  /** `irot`: counter-clockwise rotation in degrees (0, 90, 180, 270) the reader applies. */
  rotation: number;
  /**
   * The primary image has an `irot` or `imir` property: the container says how to display it, and a
   * reader (libheif) applies that; the EXIF Orientation is then informational only.
   */
  transformed: boolean;
}

interface Box {
  type: string;
  /** Offset of the payload (after the header). */
  start: number;
  end: number;
}

const MAX_META_BYTES = 4 * 1024 * 1024;

function childBoxes(buf: Buffer, start: number, end: number): Box[] {
  const boxes: Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) break;
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < header || at + size > end) break;
    boxes.push({ type, start: at + header, end: at + size });
    at += size;
  }
  return boxes;
}

/** Finds the top-level `meta` box by reading box headers, skipping `mdat` without reading it. */
async function readMetaBox(absPath: string): Promise<Buffer | undefined> {
  const handle = await open(absPath, 'r');
  try {
    const { size: fileSize } = await handle.stat();
    const header = Buffer.alloc(16);
    let at = 0;
    for (let boxes = 0; at + 8 <= fileSize && boxes < 64; boxes++) {
      const { bytesRead } = await handle.read(header, 0, 16, at);
      if (bytesRead < 8) return undefined;
      let size = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (size === 1 && bytesRead >= 16) size = Number(header.readBigUInt64BE(8));
      else if (size === 0) size = fileSize - at;
      if (size < 8) return undefined;
      if (type === 'meta') {
        if (size > MAX_META_BYTES) return undefined;
        const meta = Buffer.alloc(size);
        const read = await handle.read(meta, 0, size, at);
        return read.bytesRead === size ? meta : undefined;
      }
      at += size;
    }
    return undefined;
  } finally {
    await handle.close();
  }
}

/** Parses a `meta` box (including its 8-byte header). Exported for tests. */
export function parseHeifMeta(meta: Buffer): HeifImageInfo | undefined {
  if (meta.length < 12 || meta.toString('latin1', 4, 8) !== 'meta') return undefined;
  const children = childBoxes(meta, 12, meta.length); // meta is a FullBox: 4 bytes version/flags
  const pitm = children.find((box) => box.type === 'pitm');
  const iprp = children.find((box) => box.type === 'iprp');
  if (!pitm || !iprp) return undefined;
  const primaryId =
    meta[pitm.start] === 0 ? meta.readUInt16BE(pitm.start + 4) : meta.readUInt32BE(pitm.start + 4);

  const iprpChildren = childBoxes(meta, iprp.start, iprp.end);
  const ipco = iprpChildren.find((box) => box.type === 'ipco');
  if (!ipco) return undefined;
  const properties = childBoxes(meta, ipco.start, ipco.end); // 1-based indices in ipma

  const associated: number[] = [];
  for (const ipma of iprpChildren.filter((box) => box.type === 'ipma')) {
    const version = meta[ipma.start] ?? 0;
    const flags = meta.readUIntBE(ipma.start + 1, 3);
    let at = ipma.start + 4;
    const entries = meta.readUInt32BE(at);
    at += 4;
    for (let entry = 0; entry < entries && at < ipma.end; entry++) {
      const itemId = version < 1 ? meta.readUInt16BE(at) : meta.readUInt32BE(at);
      at += version < 1 ? 2 : 4;
      const count = meta[at] ?? 0;
      at += 1;
      for (let i = 0; i < count; i++) {
        const index = flags & 1 ? meta.readUInt16BE(at) & 0x7fff : (meta[at] ?? 0) & 0x7f;
        at += flags & 1 ? 2 : 1;
        if (itemId === primaryId && index > 0) associated.push(index);
      }
    }
  }

  let width: number | undefined;
  let height: number | undefined;
  let rotation = 0;
  let transformed = false;
  for (const index of associated) {
    const property = properties[index - 1];
    if (!property) continue;
    if (property.type === 'ispe' && property.start + 12 <= property.end) {
      width = meta.readUInt32BE(property.start + 4);
      height = meta.readUInt32BE(property.start + 8);
    } else if (property.type === 'irot' && property.start < property.end) {
      rotation = ((meta[property.start] ?? 0) & 3) * 90;
      transformed = true;
    } else if (property.type === 'imir') {
      transformed = true;
    }
  }
  if (!width || !height) return undefined;
  return { width, height, rotation, transformed };
}

/** Reads the primary image's stored size and rotation; undefined when the file is not a readable HEIF. */
export async function readHeifImageInfo(absPath: string): Promise<HeifImageInfo | undefined> {
  const meta = await readMetaBox(absPath);
  return meta ? parseHeifMeta(meta) : undefined;
}
