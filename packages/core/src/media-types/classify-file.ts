import { detectFromMagic } from './detect-from-magic.ts';
import { formatFromExtension, type MediaFormat, type MediaType } from './media-formats.ts';

export type FileClassification =
  | (MediaFormat & {
      supported: true;
      /** What the extension alone says (undefined for an unknown extension). */
      extensionMediaType: MediaType | undefined;
      /** The extension names another kind of file than the content is (e.g. a JPEG named `.png`). */
      extensionMismatch: boolean;
    })
  | {
      supported: false;
      code: 'file.empty' | 'file.unknown-format';
      reason: string;
      extensionMediaType: MediaType | undefined;
    };

function hexPrefix(header: Uint8Array): string {
  return Array.from(header.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Decide what a file is from its name and its first bytes (see `MAGIC_HEADER_BYTES`).
 * The content wins over a wrong extension, with one exception: TIFF content under a RAW
 * extension (ARW, NEF, DNG, PEF, SRW, ... are TIFF inside) is that RAW format.
 * Zero bytes or unrecognized content is unsupported, with a reason.
 */
export function classifyFile(fileName: string, header: Uint8Array): FileClassification {
  const byExtension = formatFromExtension(fileName);
  const extensionMediaType = byExtension?.mediaType;
  if (header.length === 0) {
    return { supported: false, code: 'file.empty', reason: 'the file is empty', extensionMediaType };
  }
  const byContent = detectFromMagic(header);
  if (!byContent) {
    return {
      supported: false,
      code: 'file.unknown-format',
      reason: `the content matches no supported format (starts with ${hexPrefix(header)})`,
      extensionMediaType,
    };
  }
  const format = byContent.format === 'tiff' && byExtension?.mediaType === 'raw' ? byExtension : byContent;
  return {
    ...format,
    supported: true,
    extensionMediaType,
    extensionMismatch: byExtension !== undefined && byExtension.family !== format.family,
  };
}
