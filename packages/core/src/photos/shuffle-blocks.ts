import { type ShuffleParams, seedHash, shuffleKey, shuffleParams } from './shuffle-key.ts';

/**
 * The order of a Shuffle, built so a page costs O(page) rows instead of sorting every match (see
 * docs/decisions.md, "Shuffle: seeded order of scrambled-id blocks"):
 *
 * - Every id has a fixed scramble scr(id) = ((id mod 2^31) · 2654435761) mod 2^32 (Fibonacci
 *   hashing: neighbouring ids land far apart, spread evenly over [0, 2^32)). The database has an
 *   index on that expression (migration 0003-shuffle-index), so rows are found by scramble range.
 * - One shuffle splits [0, 2^32) into 2^m equal blocks; the block of a row is scr >> (32 − m), so
 *   a block is one contiguous index range. m is chosen on the first page so a block holds about
 *   SHUFFLE_ROWS_PER_BLOCK matches, and kept in the cursor for the other pages.
 * - The blocks are visited in a seeded order: block j has position (A·j + C) mod 2^m, A odd (so
 *   every position has exactly one block) and C from the seed.
 * - Inside a block rows are ordered by the seeded shuffleKey, then id.
 *
 * So the total order of one shuffle is (position of the block, key, id), and a page reads the
 * ranges of the next few positions only. What it gives up: rows of one block (about 64) stay near
 * each other in every shuffle with the same m.
 */

/** 2^32 / golden ratio, odd: multiplying by it spreads consecutive ids evenly over 32 bits. */
export const SCRAMBLE_MULTIPLIER = 2_654_435_761;
/** Scrambles are in [0, 2^SCRAMBLE_BITS). */
export const SCRAMBLE_BITS = 32;
/** The block size a shuffle aims for when it picks its number of blocks. */
export const SHUFFLE_ROWS_PER_BLOCK = 64;
/**
 * At most 2^24 blocks (a billion rows at 64 per block). It also keeps A · block below 2^48, so
 * the position maps are exact in doubles.
 */
export const MAX_SHUFFLE_BLOCK_BITS = 24;

const ID_MODULUS = 2n ** 31n;
const SCRAMBLE_MODULUS = 2n ** BigInt(SCRAMBLE_BITS);

/**
 * The scramble of a row id, exactly as the SQL expression computes it (id mod 2^31 < 2^31 and the
 * multiplier < 2^32, so the product stays below 2^63: exact in SQLite's 64-bit integers and in
 * Postgres bigint). Ids 2^31 apart share a scramble, which only matters past two billion rows.
 */
export function scrambleId(id: number): number {
  return Number(((BigInt(id) % ID_MODULUS) * BigInt(SCRAMBLE_MULTIPLIER)) % SCRAMBLE_MODULUS);
}

/**
 * How many block bits m a shuffle of `total` matches uses: the largest m with
 * 2^m <= total / rowsPerBlock, within [0, MAX_SHUFFLE_BLOCK_BITS] (0: one block, everything sorted
 * by key, which is right for a small result).
 */
export function shuffleBlockBits(total: number, rowsPerBlock = SHUFFLE_ROWS_PER_BLOCK): number {
  if (!(rowsPerBlock > 0)) throw new RangeError(`rowsPerBlock must be positive, not ${rowsPerBlock}`);
  let bits = 0;
  while (bits < MAX_SHUFFLE_BLOCK_BITS && 2 ** (bits + 1) * rowsPerBlock <= total) bits++;
  return bits;
}

/** The seeded order of the 2^bits blocks of one shuffle: position = (a · block + c) mod 2^bits. */
export interface ShuffleBlockOrder {
  bits: number;
  /** Odd, in [1, 2^bits) (1 when bits is 0). */
  a: number;
  /** In [0, 2^bits). */
  c: number;
  /** a⁻¹ mod 2^bits (odd, 1 when bits is 0), for position -> block. */
  aInverse: number;
}

/** The block order of `seed` with 2^bits blocks (FNV-1a of the seed with two more salts). */
export function shuffleBlockOrder(seed: string, bits: number): ShuffleBlockOrder {
  checkBits(bits);
  const size = 2 ** bits;
  const a = (seedHash(seed, 'block-a') % size) | 1;
  const c = seedHash(seed, 'block-c') % size;
  return { bits, a, c, aInverse: inverseModPowerOfTwo(a, bits) };
}

/** The block of a scramble: its top `bits` bits. */
export function blockOfScramble(scramble: number, bits: number): number {
  return Math.floor(scramble / 2 ** (SCRAMBLE_BITS - bits));
}

/** Where block `block` comes in the shuffle (0 first). */
export function blockPosition(block: number, order: ShuffleBlockOrder): number {
  return mod(order.a * block + order.c, 2 ** order.bits);
}

/** The block visited at `position` (the inverse of blockPosition). */
export function blockAtPosition(position: number, order: ShuffleBlockOrder): number {
  const size = 2 ** order.bits;
  return mod(order.aInverse * mod(position - order.c, size), size);
}

/** The scrambles of one block, [lo, hi] inclusive: one contiguous range of the scramble index. */
export function blockScrambleRange(block: number, bits: number): { lo: number; hi: number } {
  const width = 2 ** (SCRAMBLE_BITS - bits);
  return { lo: block * width, hi: (block + 1) * width - 1 };
}

/** Where a row stands in one shuffle: compared by position of its block, then key, then id. */
export interface ShuffleRank {
  position: number;
  key: number;
  id: number;
}

/** The rank of row `id` (reference; the repository gets key and scramble from SQL). */
export function shuffleRank(id: number, key: ShuffleParams, order: ShuffleBlockOrder): ShuffleRank {
  return {
    position: blockPosition(blockOfScramble(scrambleId(id), order.bits), order),
    key: shuffleKey(id, key),
    id,
  };
}

/** Negative when `x` comes first in the shuffle, positive when `y` does, 0 for the same row. */
export function compareShuffleRank(x: ShuffleRank, y: ShuffleRank): number {
  return x.position - y.position || x.key - y.key || x.id - y.id;
}

/** Reference: `ids` in the order of the shuffle of `seed` with 2^bits blocks. */
export function shuffleOrder(ids: readonly number[], seed: string, bits: number): number[] {
  const key = shuffleParams(seed);
  const order = shuffleBlockOrder(seed, bits);
  return ids
    .map((id) => shuffleRank(id, key, order))
    .sort(compareShuffleRank)
    .map((rank) => rank.id);
}

/**
 * a⁻¹ mod 2^bits for odd a, by Newton's iteration x ← x(2 − a·x), which doubles the number of
 * correct low bits each step; x = a is right to 3 bits (a² ≡ 1 mod 8 for odd a). Every product
 * stays below 2^48 (a, x < 2^24), so doubles are exact.
 */
function inverseModPowerOfTwo(a: number, bits: number): number {
  const size = 2 ** bits;
  let x = a;
  for (let known = 3; known < bits; known *= 2) x = mod(x * mod(2 - a * x, size), size);
  return x;
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 0 || bits > MAX_SHUFFLE_BLOCK_BITS) {
    throw new RangeError(`block bits must be an integer in [0, ${MAX_SHUFFLE_BLOCK_BITS}], not ${bits}`);
  }
}

/** n mod size in [0, size). */
function mod(n: number, size: number): number {
  return ((n % size) + size) % size;
}
