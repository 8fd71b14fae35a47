import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived signed URLs for what players fetch without headers: HLS variant playlists and
 * segments (hls.js, ffmpeg, Safari), preview clips (`<video src>`) and GIFs (`<img src>`).
 *
 * A URL carries `exp` (unix seconds) and `sig` = base64url(HMAC-SHA256(K, "<scope>\n<hex>\n<exp>")),
 * where `hex` is the video's content hash without its algorithm prefix, `scope` says which output
 * it opens (`hls`, `clip`, `gif`), and K = HMAC-SHA256(SECRET_KEY, "lumen video url v1") (a key of
 * its own, so a URL signature can never pass for anything the JWT key signs). So a signature opens
 * one kind of output of one video until `exp`, and nothing else. See docs/decisions.md.
 */

/** Which output a signature opens. */
export type SignedScope = 'hls' | 'clip' | 'gif';

/** A signed URL is valid at least this long... */
export const SIGNED_URL_TTL_SECONDS = 6 * 60 * 60;
/**
 * ...and `exp` is rounded up to a multiple of this, so every URL for one output made within the
 * same hour is the same URL (browsers and players can cache it); the validity is 6 to 7 hours.
 */
export const SIGNED_URL_ROUNDING_SECONDS = 60 * 60;

/** The content hash hex a signed URL names (as in the output paths). */
export const CONTENT_HEX_PATTERN = /^[0-9a-f]{16,128}$/;

const EXP_PATTERN = /^[0-9]{1,12}$/;
/** base64url of 32 bytes, without padding. */
const SIG_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface UrlSignature {
  /** Unix seconds after which the URL is refused. */
  exp: number;
  sig: string;
}

/**
 * `missing`: no `exp` or `sig` (401: the request carries no authorization at all). The others are
 * 403: `malformed` (not the shape this server writes), `invalid` (the MAC does not match this scope,
 * video and expiry), `expired` (a genuine signature past its `exp`).
 */
export type SignatureCheck =
  | { ok: true; exp: number }
  | { ok: false; reason: 'missing' | 'malformed' | 'invalid' | 'expired' };

export class VideoUrlSigner {
  readonly #key: Buffer;

  constructor(
    secretKey: string,
    private readonly clock: () => number = Date.now,
  ) {
    this.#key = createHmac('sha256', secretKey).update('lumen video url v1').digest();
  }

  /** A signature for `scope` of the video `hex`, valid 6 to 7 hours from now. */
  sign(scope: SignedScope, hex: string): UrlSignature {
    if (!CONTENT_HEX_PATTERN.test(hex)) throw new Error(`not a content hash hex: ${JSON.stringify(hex)}`);
    const nowSec = Math.floor(this.clock() / 1000);
    const exp =
      Math.ceil((nowSec + SIGNED_URL_TTL_SECONDS) / SIGNED_URL_ROUNDING_SECONDS) *
      SIGNED_URL_ROUNDING_SECONDS;
    return { exp, sig: this.#mac(scope, hex, exp).toString('base64url') };
  }

  /** Checks `exp` and `sig` as they came in a query string. Constant-time on the MAC. */
  verify(scope: SignedScope, hex: string, exp: string | undefined, sig: string | undefined): SignatureCheck {
    if (!exp || !sig) return { ok: false, reason: 'missing' };
    if (!EXP_PATTERN.test(exp) || !SIG_PATTERN.test(sig) || !CONTENT_HEX_PATTERN.test(hex)) {
      return { ok: false, reason: 'malformed' };
    }
    const expSec = Number(exp);
    // Compared as text: base64url leaves the low bits of the last character unused, so two
    // strings could decode to the same bytes; only the exact text this server writes passes.
    const given = Buffer.from(sig, 'latin1');
    const expected = Buffer.from(this.#mac(scope, hex, expSec).toString('base64url'), 'latin1');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'invalid' };
    }
    if (expSec * 1000 <= this.clock()) return { ok: false, reason: 'expired' };
    return { ok: true, exp: expSec };
  }

  #mac(scope: SignedScope, hex: string, exp: number): Buffer {
    return createHmac('sha256', this.#key).update(`${scope}\n${hex}\n${exp}`).digest();
  }
}

/** `exp=<exp>&sig=<sig>`, to append to a URL. */
export function signatureQuery(signature: UrlSignature): string {
  return `exp=${signature.exp}&sig=${signature.sig}`;
}
