import { describe, expect, it } from 'vitest';
import {
  BusPayloadError,
  deadLetter,
  eventSubjects,
  jobSubjects,
  type LibraryStatusEvent,
  type MediaIngestedEvent,
  parsePayload,
  payloadSchemas,
  type Subject,
  safeParsePayload,
  subjects,
  type VideoJob,
  type VideoStatusEvent,
} from '../src/index.ts';

const HASH = 'xxh3-128:0123456789abcdef0123456789abcdef';
const AT = '2024-06-01T12:00:00.000Z';

const ingested: MediaIngestedEvent = {
  libraryId: 1,
  library: 'main',
  relPath: '2024/summer/IMG_0001.JPG',
  contentHash: HASH,
  mediaType: 'photo',
  mimeType: 'image/jpeg',
  sizeBytes: 123456,
  isNew: true,
  at: AT,
};
const libraryStatus: LibraryStatusEvent = {
  libraryId: 2,
  library: 'nas',
  status: 'stale',
  previous: 'online',
  reason: 'root lists empty but the database holds 1200 rows',
  at: AT,
};
const videoStatus: VideoStatusEvent = {
  kind: 'hls',
  contentHash: HASH,
  state: 'failed',
  error: 'ffmpeg exit 1',
  at: AT,
};
const videoJob: VideoJob = {
  contentHash: HASH,
  sourcePath: '/mnt/photos/2024/clip.mov',
  library: 'main',
  relPath: '2024/clip.mov',
  requestedAt: AT,
};

describe('subjects', () => {
  it('names events, jobs and dead letters', () => {
    expect(subjects).toEqual({
      mediaIngested: 'media.ingested',
      libraryStatus: 'library.status',
      videoStatus: 'video.status',
      mediaUploaded: 'media.uploaded',
      videoIngested: 'video.ingested',
      videoHls: 'video.hls',
      videoPreview: 'video.preview',
    });
    expect(Object.values(eventSubjects)).toEqual(['media.ingested', 'library.status', 'video.status']);
    expect(Object.values(jobSubjects)).toEqual([
      'media.uploaded',
      'video.ingested',
      'video.hls',
      'video.preview',
    ]);
    expect(deadLetter(subjects.videoHls)).toBe('dlq.video.hls');
  });

  it('has a schema for every subject', () => {
    expect(Object.keys(payloadSchemas).sort()).toEqual(Object.values(subjects).sort());
  });
});

describe('valid payloads parse', () => {
  it.each<[Subject, unknown]>([
    ['media.ingested', ingested],
    [
      'media.ingested',
      { ...ingested, mimeType: undefined, mediaType: 'video', durationSec: 12.5, isNew: false },
    ],
    ['media.ingested', { ...ingested, mediaType: 'raw', durationSec: null, sizeBytes: 0 }],
    ['media.ingested', { ...ingested, at: '2024-06-01T14:00:00+02:00' }],
    ['media.uploaded', { libraryId: 1, library: 'main', relPath: 'uploads/IMG_0001_1717243200.jpg', at: AT }],
    ['library.status', libraryStatus],
    ['library.status', { libraryId: 2, library: 'nas', status: 'online', at: AT }],
    ['video.status', videoStatus],
    ['video.status', { kind: 'preview', contentHash: HASH, state: 'ready', at: AT }],
    ['video.hls', videoJob],
    ['video.preview', { ...videoJob, relPath: 'clip with spaces ... and dots.mp4' }],
    ['video.ingested', { ...ingested, mediaType: 'video', durationSec: 12.5 }],
  ])('%s %j', (subject, payload) => {
    const result = safeParsePayload(subject, payload);
    expect(result.ok).toBe(true);
    // The contract version is stamped when a producer leaves it out.
    expect(parsePayload(subject, payload)).toEqual({ ...(payload as object), v: 1 });
  });

  it('drops unknown keys', () => {
    expect(parsePayload('video.hls', { ...videoJob, extra: 'ignored' })).toEqual({ ...videoJob, v: 1 });
  });

  it('refuses a version it does not know', () => {
    expect(safeParsePayload('video.hls', { ...videoJob, v: 2 }).ok).toBe(false);
  });
});

describe('invalid payloads fail with a useful message', () => {
  it.each<[Subject, unknown, RegExp]>([
    ['media.ingested', { ...ingested, sizeBytes: '12' }, /sizeBytes: .*expected number/],
    ['media.ingested', { ...ingested, sizeBytes: -1 }, /sizeBytes: .*>=0/],
    ['media.ingested', { ...ingested, mediaType: 'audio' }, /mediaType: .*"photo"\|"raw"\|"video"/],
    [
      'media.ingested',
      { ...ingested, contentHash: 'abc' },
      /contentHash: must be <algorithm>:<lower-case hex>/,
    ],
    ['media.ingested', { ...ingested, libraryId: 0 }, /libraryId: /],
    ['media.ingested', { ...ingested, libraryId: 1.5 }, /libraryId: .*expected int/],
    ['media.ingested', { ...ingested, relPath: '/etc/passwd' }, /relPath: must be relative/],
    ['media.ingested', { ...ingested, relPath: 'a/../../b' }, /relPath: must not contain "\.\." segments/],
    ['media.ingested', { ...ingested, relPath: '' }, /relPath: must not be empty/],
    ['media.ingested', { ...ingested, at: 'yesterday' }, /at: must be an ISO-8601 date-time/],
    ['media.ingested', { ...ingested, isNew: 'yes' }, /isNew: .*expected boolean/],
    ['media.ingested', { ...ingested, durationSec: -3 }, /durationSec: /],
    ['media.ingested', { libraryId: 1 }, /library: .*relPath: .*contentHash: /],
    ['media.uploaded', { libraryId: 1, library: 'main', relPath: '../x.jpg', at: AT }, /relPath: /],
    ['library.status', { ...libraryStatus, status: 'offline' }, /status: .*"online"\|"stale"/],
    ['library.status', { ...libraryStatus, previous: 'gone' }, /previous: /],
    ['video.status', { ...videoStatus, kind: 'gif' }, /kind: /],
    ['video.status', { ...videoStatus, state: 'done' }, /state: .*"queued"/],
    ['video.hls', { ...videoJob, sourcePath: 'relative/clip.mov' }, /sourcePath: must be an absolute path/],
    ['video.hls', { ...videoJob, requestedAt: 1717243200000 }, /requestedAt: must be an ISO-8601 date-time/],
    ['video.preview', { ...videoJob, library: '' }, /library: /],
    ['video.preview', null, /\(payload\): .*expected object/],
    ['video.ingested', { ...ingested, mediaType: 'photo' }, /mediaType: /],
    ['video.preview', 'video.hls', /\(payload\): .*expected object/],
  ])('%s %j', (subject, payload, message) => {
    const result = safeParsePayload(subject, payload);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(BusPayloadError);
      expect(result.error.subject).toBe(subject);
      expect(result.error.message).toMatch(new RegExp(`^Invalid ${subject.replace('.', '\\.')} payload: `));
      expect(result.error.message).toMatch(message);
    }
    expect(() => parsePayload(subject, payload)).toThrow(BusPayloadError);
  });
});
