// Run by migrations.test.ts in several processes at once: open (and migrate) the file named in argv.
import { openDatabase } from '../src/index.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: open-database-child.ts <sqlite file>');
const database = await openDatabase({ kind: 'sqlite', file });
await database.close();
