// Child process for exiftool-process.test.ts: starts exiftool, prints its pid, then waits to be killed.
import { ExiftoolProcess } from '../src/index.ts';

const exiftool = new ExiftoolProcess();
await exiftool.execute(['-ver']);
process.stdout.write(`${exiftool.pid}\n`);
setInterval(() => {}, 60_000);
