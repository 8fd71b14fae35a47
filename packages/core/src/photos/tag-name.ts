import { z } from 'zod';

export const MAX_TAG_NAME_LENGTH = 100;

/** How a tag name is shown: Unicode NFC, trimmed, inner runs of whitespace made one space. */
export function cleanTagName(name: string): string {
  return name.normalize('NFC').trim().replace(/\s+/g, ' ');
}

/** The key that makes tag names unique regardless of case and spacing (`tags.name_normalized`). */
export function normalizeTagName(name: string): string {
  return cleanTagName(name).toLowerCase();
}

/** A tag name from a client, cleaned: 1-100 characters, no control characters. */
export const tagNameSchema = z
  .string()
  .transform(cleanTagName)
  .pipe(
    z
      .string()
      .min(1, 'must not be empty')
      .max(MAX_TAG_NAME_LENGTH, `must be at most ${MAX_TAG_NAME_LENGTH} characters`)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
      .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'must not contain control characters'),
  );
