/**
 * The two-tick consensus of the orphan GC (SPEC 3.3), as pure state.
 *
 * Every watcher tick the GC computes the content hashes that derived rows (faces, tags, insights)
 * still reference but no `image_exif` row has ("orphans"), and calls `observe` with them and
 * with whether every library was Online on this tick. The state remembers the orphans of the
 * previous tick, if that tick was all-Online ("pending"), and answers:
 *
 * - `toDelete`: orphans of this tick that were also orphans of the previous tick, both ticks
 *   all-Online. Only these may be deleted. A fresh state has no previous tick, so its first
 *   observation never deletes.
 * - `revived`: hashes that were pending but are not orphans any more (the file came back, e.g.
 *   a mount that was slow to list); they are forgotten.
 * - `cancelled`: how many pending hashes a Stale tick dropped. A tick where any library is Stale
 *   deletes nothing and clears the pending set; its orphans are not remembered either, so the
 *   next all-Online tick starts over (it can delete nothing).
 * - `pending`: how many of this tick's orphans are remembered for the next tick (all of them on
 *   an all-Online tick, `toDelete` included; 0 after a Stale tick).
 *
 * A hash that stays orphaned is reported in `toDelete` on every further all-Online tick until it
 * is gone (a failed or dry-run delete is simply retried). The state lives in memory: losing it
 * (restart) can only delay a delete, never cause one.
 */
export interface OrphanObservation {
  orphans: Iterable<string>;
  /** Every library was Online for this tick's probe. */
  allOnline: boolean;
}

export interface OrphanGcDecision {
  toDelete: string[];
  revived: string[];
  cancelled: number;
  pending: number;
}

export class OrphanGcState {
  private pending = new Set<string>();

  observe({ orphans, allOnline }: OrphanObservation): OrphanGcDecision {
    if (!allOnline) {
      const cancelled = this.pending.size;
      this.pending = new Set();
      return { toDelete: [], revived: [], cancelled, pending: 0 };
    }
    const current = new Set(orphans);
    const toDelete = [...current].filter((hash) => this.pending.has(hash));
    const revived = [...this.pending].filter((hash) => !current.has(hash));
    this.pending = current;
    return { toDelete, revived, cancelled: 0, pending: current.size };
  }

  /** Hashes orphaned on the last tick (when it was all-Online), in first-seen order. */
  pendingHashes(): string[] {
    return [...this.pending];
  }

  /** Forget everything, as after a restart. */
  reset(): void {
    this.pending = new Set();
  }
}
