import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * A seeded shuffle that SQL can ORDER BY and page with a keyset cursor: each row gets the key
 *
 *   x   = ((id mod P) · a + b) mod P
 *   key = (x · x + c) mod P          with P = 2^31 − 1 and a, b, c in [1, P − 1] from the seed,
 *
 * ordered by (key, id). Integer arithmetic only, and every intermediate value stays below 2^62, so
 * SQLite (64-bit integers) and Postgres (bigint) compute exactly the same keys; `shuffleKey` is the
 * reference in JavaScript (BigInt). The affine step alone would give a lattice-like order (ids
 * evenly spaced); squaring breaks that up. Not cryptographic: it only has to look random and be
 * the same on every page.
 */
export const SHUFFLE_MODULUS = 2_147_483_647;

export interface ShuffleParams {
  a: number;
  b: number;
  c: number;
}

/** What a client may send as `seed`: 1-64 letters, digits, `_` or `-`. */
export const shuffleSeedSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');

/** The three multipliers for a seed (FNV-1a of the seed with three salts, mapped into [1, P − 1]). */
export function shuffleParams(seed: string): ShuffleParams {
  const part = (salt: string) => (seedHash(seed, salt) % (SHUFFLE_MODULUS - 1)) + 1;
  return { a: part('a'), b: part('b'), c: part('c') };
}

/** 32 bits from a seed and a salt (FNV-1a of `salt:seed`); other salts give unrelated bits. */
export function seedHash(seed: string, salt: string): number {
  return fnv1a32(`${salt}:${seed}`);
}

/** The shuffle key of a row id, computed exactly as the SQL expression does. */
export function shuffleKey(id: number, params: ShuffleParams): number {
  const p = BigInt(SHUFFLE_MODULUS);
  const x = ((BigInt(id) % p) * BigInt(params.a) + BigInt(params.b)) % p;
  return Number((x * x + BigInt(params.c)) % p);
}

/** A fresh seed for a Shuffle request that came without one (12 base64url characters). */
export function randomShuffleSeed(): string {
  return randomBytes(9).toString('base64url');
}

function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
