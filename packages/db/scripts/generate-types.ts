// Migrate a throwaway SQLite file, introspect it and write src/schema.generated.ts.
// Run: pnpm --filter @lumen/db gen:types
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/open-database.ts';
import { generateSchemaTypes } from './schema-types.ts';

const outFile = fileURLToPath(new URL('../src/schema.generated.ts', import.meta.url));
const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lumen-gen-types-'));
try {
  const database = await openDatabase({ kind: 'sqlite', file: path.join(tempDir, 'schema.db') });
  try {
    const text = await generateSchemaTypes(database.db);
    fs.writeFileSync(outFile, text);
    console.log(`wrote ${path.relative(process.cwd(), outFile)}`);
  } finally {
    await database.close();
  }
} finally {
  fs.rmSync(tempDir, { recursive: true, force: true });
}
