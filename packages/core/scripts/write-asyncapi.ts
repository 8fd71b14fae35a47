/**
 * Writes docs/asyncapi.json from the zod payload schemas (packages/core/src/bus-contracts).
 * Run after changing a payload schema or adding a subject: `pnpm asyncapi`. A test fails while
 * the checked-in file differs from what this writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAsyncApiDocument } from '../src/bus-contracts/asyncapi.ts';

const file = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'docs',
  'asyncapi.json',
);
fs.writeFileSync(file, `${JSON.stringify(buildAsyncApiDocument(), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)}`);
