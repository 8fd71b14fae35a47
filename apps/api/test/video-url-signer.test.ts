import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SIGNED_URL_ROUNDING_SECONDS,
  SIGNED_URL_TTL_SECONDS,
  VideoUrlSigner,
} from '../src/services/video-url-signer.ts';

const SECRET = 'video-url-test-secret-0123456789abcdef';
const HEX_A = '0123456789abcdef0123456789abcdef';
const HEX_B = 'fedcba9876543210fedcba9876543210';
const NOW_MS = Date.UTC(2024, 4, 1, 10, 17, 3);

function signerAt(ms: number, secret = SECRET): VideoUrlSigner {
  return new VideoUrlSigner(secret, () => ms);
}

/** Flips one character in the middle (a real change of the MAC, not a padding-bit one). */
function tamper(sig: string): string {
  const i = 10;
  return sig.slice(0, i) + (sig[i] === 'A' ? 'B' : 'A') + sig.slice(i + 1);
}

describe('VideoUrlSigner', () => {
  it('expires 6 to 7 hours ahead, rounded up to the hour, so URLs are stable for a while', () => {
    const { exp } = signerAt(NOW_MS).sign('hls', HEX_A);
    const nowSec = NOW_MS / 1000;
    expect(exp % SIGNED_URL_ROUNDING_SECONDS).toBe(0);
    expect(exp - nowSec).toBeGreaterThanOrEqual(SIGNED_URL_TTL_SECONDS);
    expect(exp - nowSec).toBeLessThan(SIGNED_URL_TTL_SECONDS + SIGNED_URL_ROUNDING_SECONDS);
    expect(signerAt(NOW_MS + 60_000).sign('hls', HEX_A)).toEqual(signerAt(NOW_MS).sign('hls', HEX_A));
  });

  it('is HMAC-SHA256 under a key derived from SECRET_KEY, over scope, hex and expiry', () => {
    const { exp, sig } = signerAt(NOW_MS).sign('clip', HEX_A);
    const key = createHmac('sha256', SECRET).update('lumen video url v1').digest();
    const expected = createHmac('sha256', key).update(`clip\n${HEX_A}\n${exp}`).digest('base64url');
    expect(sig).toBe(expected);
  });

  const signed = signerAt(NOW_MS).sign('hls', HEX_A);
  const exp = String(signed.exp);
  const cases: {
    name: string;
    scope?: 'hls' | 'clip' | 'gif';
    hex?: string;
    exp: string | undefined;
    sig: string | undefined;
    at?: number;
    secret?: string;
    expected: string;
  }[] = [
    { name: 'its own URL', exp, sig: signed.sig, expected: 'ok' },
    { name: 'a second before expiry', exp, sig: signed.sig, at: signed.exp * 1000 - 1000, expected: 'ok' },
    { name: 'at expiry', exp, sig: signed.sig, at: signed.exp * 1000, expected: 'expired' },
    { name: 'no sig', exp, sig: undefined, expected: 'missing' },
    { name: 'no exp', exp: undefined, sig: signed.sig, expected: 'missing' },
    { name: 'empty sig', exp, sig: '', expected: 'missing' },
    { name: 'a changed character', exp, sig: tamper(signed.sig), expected: 'invalid' },
    { name: 'a later exp', exp: String(signed.exp + 3600), sig: signed.sig, expected: 'invalid' },
    { name: 'another video', hex: HEX_B, exp, sig: signed.sig, expected: 'invalid' },
    { name: 'another scope', scope: 'clip', exp, sig: signed.sig, expected: 'invalid' },
    { name: 'another secret', secret: `${SECRET}x`, exp, sig: signed.sig, expected: 'invalid' },
    { name: 'a sig one character short', exp, sig: signed.sig.slice(1), expected: 'malformed' },
    { name: 'a sig with padding', exp, sig: `${signed.sig}=`, expected: 'malformed' },
    { name: 'a non-numeric exp', exp: `${exp}x`, sig: signed.sig, expected: 'malformed' },
    { name: 'a negative exp', exp: `-${exp}`, sig: signed.sig, expected: 'malformed' },
    { name: 'a hex with a path in it', hex: `${HEX_A}/..`, exp, sig: signed.sig, expected: 'malformed' },
    { name: 'an upper-case hex', hex: HEX_A.toUpperCase(), exp, sig: signed.sig, expected: 'malformed' },
  ];

  it.each(cases)('verify: $name -> $expected', (c) => {
    const signer = signerAt(c.at ?? NOW_MS, c.secret);
    const check = signer.verify(c.scope ?? 'hls', c.hex ?? HEX_A, c.exp, c.sig);
    expect(check.ok ? 'ok' : check.reason).toBe(c.expected);
  });

  it('does not accept another spelling of the same MAC bytes (unused low bits of the last character)', () => {
    // 32 bytes in 43 base64url characters: the last character carries 4 bits and 2 unused ones.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = signed.sig.at(-1) as string;
    const sibling = alphabet[alphabet.indexOf(last) ^ 1] as string;
    const variant = signed.sig.slice(0, -1) + sibling;
    expect(Buffer.from(variant, 'base64url').equals(Buffer.from(signed.sig, 'base64url'))).toBe(true);
    const check = signerAt(NOW_MS).verify('hls', HEX_A, exp, variant);
    expect(check).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses to sign something that is not a content hash hex', () => {
    expect(() => signerAt(NOW_MS).sign('hls', '../etc')).toThrow(/not a content hash hex/);
  });
});
