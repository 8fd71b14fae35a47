import sharp from 'sharp';

export interface SharpSettings {
  /**
   * libvips threads per image. It defaults to 1 on glibc without jemalloc (as here); 2 with 2-4
   * images in flight roughly doubles thumbnail throughput on two cores (see PERFORMANCE-NOTES.md).
   */
  concurrency?: number;
  /**
   * libvips operation cache; off helps a server that never sees the same file twice. The servers
   * turn it off: the cache counts only memory libvips tracks, and a cached GIF load keeps its whole
   * decoded canvas (untracked, 784 MB for a 14000 x 14000 GIF) alive after the request. Reading a
   * library file through its checked descriptor (`openLibraryFile`) turns it off for good too: the
   * cache keys on file names, and `/proc/<pid>/fd/<fd>` names are reused for other files.
   */
  cache?: boolean;
}

/** Process-wide sharp settings. The composition root (watcher, standalone) decides; nothing here calls it. */
export function configureSharp(settings: SharpSettings): { concurrency: number } {
  if (settings.concurrency !== undefined) {
    if (!Number.isInteger(settings.concurrency) || settings.concurrency < 0) {
      throw new Error(`sharp concurrency must be a non-negative integer, got ${settings.concurrency}`);
    }
    sharp.concurrency(settings.concurrency);
  }
  if (settings.cache !== undefined) sharp.cache(settings.cache);
  return { concurrency: sharp.concurrency() };
}
