import { buildAsyncApiDocument, jobSubjects } from '@lumen/core';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/consume-options.ts';
import { jobConsumerName } from '../src/nats-bus.ts';
import {
  assertEventSubject,
  assertJobSubject,
  assertSubjectPattern,
  subjectMatches,
} from '../src/subjects.ts';

describe('subjectMatches', () => {
  it.each([
    ['media.ingested', 'media.ingested', true],
    ['media.ingested', 'media.deleted', false],
    ['media.*', 'media.ingested', true],
    ['media.*', 'media', false],
    ['media.*', 'media.a.b', false],
    ['*.ingested', 'media.ingested', true],
    ['*', 'media', true],
    ['*', 'media.ingested', false],
    ['media.>', 'media.ingested', true],
    ['media.>', 'media.a.b.c', true],
    ['media.>', 'media', false],
    ['>', 'anything.at.all', true],
    ['dlq.>', 'dlq.video.hls', true],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.b.d', false],
    ['a.b', 'a.b.c', false],
    ['a.b.c', 'a.b', false],
  ])('%s vs %s -> %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});

const validity = (check: (s: string) => void, subject: string): boolean => {
  try {
    check(subject);
    return true;
  } catch {
    return false;
  }
};

describe('subject validation', () => {
  it.each([
    ['media.ingested', true],
    ['a', true],
    ['a-b.c_d', true],
    ['a..b', false],
    ['.a', false],
    ['a.', false],
    ['a.*', false],
    ['a.>', false],
    ['a b', false],
    ['', false],
  ])('event subject %j valid: %s', (subject, valid) => {
    expect(validity(assertEventSubject, subject)).toBe(valid);
  });

  it.each([
    ['media.*', true],
    ['>', true],
    ['a.>', true],
    ['*.*', true],
    ['a.>.b', false],
    ['a..b', false],
    ['a.b*', false],
    ['', false],
  ])('pattern %j valid: %s', (pattern, valid) => {
    expect(validity(assertSubjectPattern, pattern)).toBe(valid);
  });

  it.each([
    ['video.hls', true],
    ['video.preview-clip', true],
    ['video.preview_clip', true],
    ['video.*', false],
    ['video hls', false],
    ['vidéo.hls', false],
    ['video..hls', false],
  ])('job subject %j valid: %s', (subject, valid) => {
    expect(validity(assertJobSubject, subject)).toBe(valid);
  });
});

describe('backoffDelay', () => {
  it.each([
    [[1000, 5000, 30000], 1, 1000],
    [[1000, 5000, 30000], 2, 5000],
    [[1000, 5000, 30000], 3, 30000],
    [[1000, 5000, 30000], 9, 30000],
    [[200], 4, 200],
    [[], 1, 0],
  ])('%j at attempt %i -> %i ms', (backoff, attempt, expected) => {
    expect(backoffDelay(backoff, attempt)).toBe(expected);
  });
});

describe('the AsyncAPI document names the real durable consumers', () => {
  it.each(Object.values(jobSubjects))('%s', (subject) => {
    const doc = buildAsyncApiDocument({ prefix: 'lumen' }) as {
      channels: Record<string, { title: string; bindings?: { 'x-jetstream': { durable: string } } }>;
    };
    const channel = Object.values(doc.channels).find((c) => c.title === subject);
    expect(channel?.bindings?.['x-jetstream'].durable.replace('{prefix}', 'lumen')).toBe(
      jobConsumerName('lumen', subject),
    );
  });
});
