import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/**
 * A unique sibling of `target` to write before renaming onto it (same directory, so the rename is
 * atomic). Starts with a dot and ends in `.tmp`, so a half-written file is recognisable.
 */
export function temporaryPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}
