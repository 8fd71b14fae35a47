import { runService } from '@lumen/runtime';
import { start } from './start.ts';

// The built-in face-inference service alone (`pnpm --filter @lumen/face-inference start`),
// or as the child that `pnpm start` forks when FACE_INFERENCE=builtin (see child.ts).
await runService('face-inference', async (config, logger) => {
  const handle = await start({ config, logger });
  if (process.send) {
    // Forked by the standalone process: tell it where we listen, and go when it goes.
    process.send({ type: 'listening', url: handle.url });
    process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  }
  return handle;
});
