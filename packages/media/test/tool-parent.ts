// Child process for tool-process.test.ts: starts an ffmpeg that runs until killed (through runTool,
// or through plain execa with `plain`), prints its pid, then waits to be killed itself.
import { execa } from 'execa';
import { runTool } from '../src/index.ts';

// A silent audio source read in real time: ffmpeg runs (nearly idle) until something stops it.
const args = ['-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'anullsrc', '-f', 'null', '-'];
const child =
  process.argv[2] === 'plain'
    ? execa('ffmpeg', args, { reject: false, cleanup: false })
    : runTool('ffmpeg', args, { reject: false, cleanup: false });
process.stdout.write(`${child.pid}\n`);
setInterval(() => {}, 60_000);
