import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * True while an ffmpeg process has `file` open. By its open descriptors, not its command line: the
 * transcoder hands ffmpeg the checked descriptor of the source (`/proc/<pid>/fd/<fd>`), not its name.
 */
export function ffmpegRunningOn(file: string): boolean {
  let pids: string[];
  try {
    pids = execFileSync('pgrep', ['-x', 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return false; // pgrep exits 1 when nothing matches
  }
  const wanted = fs.realpathSync(file);
  return pids.some((pid) => {
    try {
      return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === wanted;
        } catch {
          return false;
        }
      });
    } catch {
      return false; // exited meanwhile
    }
  });
}
