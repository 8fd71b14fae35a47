/** Stable codes for a rejected client path (safe to put in an API error's `type`). */
export type PathErrorCode =
  | 'path.empty'
  | 'path.absolute'
  | 'path.traversal'
  | 'path.nul'
  | 'path.control-char'
  | 'path.backslash'
  | 'path.encoded'
  | 'path.too-long'
  | 'path.invalid'
  | 'path.symlink-escape'
  | 'path.symlink-dangling'
  | 'path.symlink-loop'
  | 'path.changed'
  | 'path.root-unavailable'
  | 'path.io';

/** A client path that may not be used. `code` is stable; `message` is for humans and logs. */
export class PathError extends Error {
  constructor(
    readonly code: PathErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PathError';
  }
}
