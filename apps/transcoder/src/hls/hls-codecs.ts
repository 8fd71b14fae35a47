/**
 * RFC 6381 codec strings for the master playlist's `CODECS` attribute (hls.js and Safari use it to
 * pick a variant they can play without downloading it first).
 */

const TS_PACKET_BYTES = 188;
const TS_SYNC_BYTE = 0x47;
const NAL_TYPE_SPS = 7;

/** MPEG-4 audio object types by ffprobe's AAC profile name: `mp4a.40.<type>`. */
const AAC_OBJECT_TYPES: Record<string, number> = {
  Main: 1,
  LC: 2,
  SSR: 3,
  LTP: 4,
  'HE-AAC': 5,
  'HE-AACv2': 29,
};

/** The AAC that ffmpeg's own encoder writes (AAC-LC). */
export const AAC_LC_CODEC = 'mp4a.40.2';

/** `mp4a.40.<type>` for ffprobe's AAC profile name; null when the profile is unknown. */
export function aacCodecOf(profile: string | null): string | null {
  const type = profile === null ? undefined : AAC_OBJECT_TYPES[profile];
  return type === undefined ? null : `mp4a.40.${type}`;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** The payloads of the MPEG-TS packets of the first video PES stream (stream ids 0xE0-0xEF), joined. */
function videoElementaryBytes(ts: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  let videoPid: number | undefined;
  for (let at = 0; at + TS_PACKET_BYTES <= ts.length; at += TS_PACKET_BYTES) {
    if (ts[at] !== TS_SYNC_BYTE) break;
    const b1 = ts[at + 1] ?? 0;
    const pid = ((b1 & 0x1f) << 8) | (ts[at + 2] ?? 0);
    const adaptation = ((ts[at + 3] ?? 0) >> 4) & 0x3;
    if (adaptation === 0 || adaptation === 2) continue; // no payload
    const start = at + 4 + (adaptation === 3 ? 1 + (ts[at + 4] ?? 0) : 0);
    if (start >= at + TS_PACKET_BYTES) continue;
    const payload = ts.subarray(start, at + TS_PACKET_BYTES);
    const unitStart = (b1 & 0x40) !== 0;
    if (videoPid === undefined && unitStart) {
      const isVideoPes =
        payload[0] === 0 && payload[1] === 0 && payload[2] === 1 && (payload[3] ?? 0) >> 4 === 0xe;
      if (isVideoPes) videoPid = pid;
    }
    if (pid === videoPid) chunks.push(payload);
  }
  return Buffer.concat(chunks);
}

/**
 * `avc1.PPCCLL` (profile_idc, constraint flags, level_idc) from the first H.264 sequence parameter
 * set in an MPEG-TS segment, as a player will receive it; null when there is none. The TS muxer
 * repeats the SPS before every keyframe, so the head of a segment holds it.
 */
export function avc1CodecOfTs(ts: Uint8Array): string | null {
  const es = videoElementaryBytes(ts);
  for (let i = 0; i + 6 < es.length; i++) {
    if (es[i] !== 0 || es[i + 1] !== 0 || es[i + 2] !== 1) continue;
    const header = es[i + 3] ?? 0;
    if ((header & 0x80) === 0 && (header & 0x1f) === NAL_TYPE_SPS) {
      return `avc1.${hex2(es[i + 4] ?? 0)}${hex2(es[i + 5] ?? 0)}${hex2(es[i + 6] ?? 0)}`;
    }
  }
  return null;
}

/**
 * The `CODECS` of a variant: its H.264 codec string plus, when it carries audio, the AAC one (AAC-LC
 * when ffmpeg encodes it, the source's profile when copied). Null when either part is unknown.
 */
export function variantCodecs(
  video: string | null,
  audio: 'copy' | 'encode' | 'none',
  sourceAudioProfile: string | null,
): string | null {
  if (video === null) return null;
  if (audio === 'none') return video;
  const aac = audio === 'encode' ? AAC_LC_CODEC : aacCodecOf(sourceAudioProfile);
  return aac === null ? null : `${video},${aac}`;
}
