import { describe, expect, it } from 'vitest';
import { aacCodecOf, avc1CodecOfTs, variantCodecs } from '../src/hls/hls-codecs.ts';

/** MPEG-TS packets carrying `payload` on `pid`, the first one starting the unit; the last one padded. */
function tsPackets(pid: number, payload: number[], firstPayloadBytes = 184): number[] {
  const packets: number[] = [];
  let at = 0;
  let first = true;
  while (at < payload.length) {
    const room = first ? Math.min(184, firstPayloadBytes) : 184;
    const chunk = payload.slice(at, at + room);
    at += chunk.length;
    const header = [0x47, (first ? 0x40 : 0) | ((pid >> 8) & 0x1f), pid & 0xff];
    if (chunk.length === 184) {
      packets.push(...header, 0x10, ...chunk);
    } else {
      // adaptation field: length, flags, stuffing, then the payload
      const fieldLength = 183 - chunk.length;
      const field = fieldLength === 0 ? [] : [0x00, ...new Array<number>(fieldLength - 1).fill(0xff)];
      packets.push(...header, 0x30, fieldLength, ...field, ...chunk);
    }
    first = false;
  }
  return packets;
}

/** A PES packet of stream `streamId` holding `data`. */
function pes(streamId: number, data: number[]): number[] {
  return [0x00, 0x00, 0x01, streamId, 0x00, 0x00, 0x80, 0x80, 0x05, 0x21, 0x00, 0x01, 0x00, 0x01, ...data];
}

const AUD = [0x00, 0x00, 0x00, 0x01, 0x09, 0xf0];
/** High profile (100 = 0x64), no constraint flags, level 3.1 (0x1f), then some SPS body. */
const SPS_HIGH_31 = [0x00, 0x00, 0x00, 0x01, 0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50];
/** Constrained Baseline (66 = 0x42, constraint_set1 = 0x40), level 3.0 (0x1e). */
const SPS_CBP_30 = [0x00, 0x00, 0x01, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00];
const IDR_SLICE = [0x00, 0x00, 0x01, 0x65, 0x88, 0x84, 0x00, 0x33];
/** ADTS audio that happens to contain a start code and an SPS-looking byte. */
const AUDIO = [0xff, 0xf1, 0x50, 0x80, 0x00, 0x00, 0x01, 0x67, 0x4d, 0x00, 0x28];

describe('avc1CodecOfTs', () => {
  it.each<[string, number[], string | null]>([
    [
      'an SPS after the access unit delimiter',
      tsPackets(0x100, pes(0xe0, [...AUD, ...SPS_HIGH_31, ...IDR_SLICE])),
      'avc1.64001f',
    ],
    ['constraint flags are kept', tsPackets(0x100, pes(0xe0, [...SPS_CBP_30, ...IDR_SLICE])), 'avc1.42c01e'],
    [
      'an SPS split across two packets',
      tsPackets(0x100, pes(0xe0, [...AUD, ...SPS_HIGH_31, ...IDR_SLICE]), 14 + AUD.length + 6),
      'avc1.64001f',
    ],
    [
      'audio before the video is not read as video',
      [...tsPackets(0x101, pes(0xc0, AUDIO)), ...tsPackets(0x100, pes(0xe0, [...SPS_CBP_30, ...IDR_SLICE]))],
      'avc1.42c01e',
    ],
    ['only audio', tsPackets(0x101, pes(0xc0, AUDIO)), null],
    ['video without an SPS', tsPackets(0x100, pes(0xe0, [...AUD, ...IDR_SLICE])), null],
    ['not MPEG-TS', [...new Array<number>(400).fill(0x00), 0x01, 0x67, 0x64, 0x00, 0x1f], null],
    ['nothing', [], null],
  ])('%s', (_label, bytes, expected) => {
    expect(avc1CodecOfTs(Uint8Array.from(bytes))).toBe(expected);
  });
});

describe('aacCodecOf', () => {
  it.each<[string | null, string | null]>([
    ['LC', 'mp4a.40.2'],
    ['HE-AAC', 'mp4a.40.5'],
    ['HE-AACv2', 'mp4a.40.29'],
    ['Main', 'mp4a.40.1'],
    ['LD', null],
    [null, null],
  ])('%s -> %s', (profile, expected) => {
    expect(aacCodecOf(profile)).toBe(expected);
  });
});

describe('variantCodecs', () => {
  it.each<[string | null, 'copy' | 'encode' | 'none', string | null, string | null]>([
    ['avc1.64001f', 'none', null, 'avc1.64001f'],
    ['avc1.64001f', 'encode', 'HE-AAC', 'avc1.64001f,mp4a.40.2'], // ffmpeg encodes AAC-LC
    ['avc1.64001f', 'copy', 'HE-AAC', 'avc1.64001f,mp4a.40.5'],
    ['avc1.64001f', 'copy', null, null], // copied audio of unknown profile: no CODECS at all
    [null, 'encode', null, null],
  ])('%s + %s audio (%s) -> %s', (video, audio, profile, expected) => {
    expect(variantCodecs(video, audio, profile)).toBe(expected);
  });
});
