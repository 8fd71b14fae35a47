import fs from 'node:fs';
import path from 'node:path';
import { execa, type Options, type ResultPromise } from 'execa';

/**
 * Every external tool Lumen runs (ffmpeg, ffprobe, exiftool, heif-convert) starts through here, so
 * that it dies with the Lumen process that started it, even one that is killed outright (SIGKILL,
 * the OOM killer, a container runtime's final kill), where no cleanup code of ours runs.
 *
 * On Linux the tool runs under util-linux's `setpriv --pdeathsig KILL` (Debian's essential
 * util-linux package): setpriv sets the parent-death signal (PR_SET_PDEATHSIG) and then execs the
 * tool in its own place, so the pid is the tool's (timeouts, `kill()` and `os.setPriority` act on
 * the tool itself). Without setpriv (another OS, a minimal image) the tool runs as it is.
 *
 * A command that cannot be found or run is started without the wrapper, so the caller sees the
 * usual ENOENT/EACCES from the spawn (not setpriv's exit code 127/126).
 */

/** The setpriv binary, or undefined where there is none. */
export const PDEATHSIG_WRAPPER = findExecutable(['/usr/bin/setpriv', '/bin/setpriv']);

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function findExecutable(candidates: string[]): string | undefined {
  if (process.platform !== 'linux') return undefined;
  return candidates.find(isExecutable);
}

/** Whether `command` (a path, or a name looked up on PATH) names an executable file. */
function canRun(command: string, pathEnv: string | undefined): boolean {
  if (command.includes('/')) return isExecutable(command);
  return (pathEnv ?? '')
    .split(path.delimiter)
    .some((dir) => dir !== '' && isExecutable(path.join(dir, command)));
}

/**
 * The file and arguments that run `command args` so that it dies with this process: through the
 * setpriv wrapper when there is one and the command can be run, else unchanged.
 */
export function toolInvocation(
  command: string,
  args: readonly string[],
  pathEnv: string | undefined = process.env.PATH,
): [file: string, args: string[]] {
  if (PDEATHSIG_WRAPPER === undefined || !canRun(command, pathEnv)) return [command, [...args]];
  return [PDEATHSIG_WRAPPER, ['--pdeathsig', 'KILL', '--', command, ...args]];
}

/** `execa(command, args, options)` for an external tool, tied to this process's life (see above). */
export function runTool<const O extends Options = Options>(
  command: string,
  args: readonly string[],
  options?: O,
): ResultPromise<{} & O> {
  const pathEnv = options?.env?.PATH ?? process.env.PATH;
  const [file, fileArgs] = toolInvocation(command, args, typeof pathEnv === 'string' ? pathEnv : undefined);
  return execa(file, fileArgs, options);
}
