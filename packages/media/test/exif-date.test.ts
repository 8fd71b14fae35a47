import { describe, expect, it } from 'vitest';
import { normalizeOffset, parseCameraDate } from '../src/index.ts';

describe('parseCameraDate', () => {
  it.each([
    // value, separate offset, sub-seconds, instant, offset
    ['2021:04:11 15:47:53', '-05:00', undefined, '2021-04-11T20:47:53.000Z', '-05:00'],
    ['2021:04:11 15:47:53', undefined, undefined, '2021-04-11T15:47:53.000Z', null],
    ['2021:04:11 15:47:53', null, '054', '2021-04-11T15:47:53.054Z', null],
    ['2008-03-15T09:52:01-04:00', undefined, undefined, '2008-03-15T13:52:01.000Z', '-04:00'],
    ['2008-03-15T09:52:01-04:00', '+09:00', undefined, '2008-03-15T13:52:01.000Z', '-04:00'],
    ['2013:09:23 10:09:46+02:00', undefined, undefined, '2013-09-23T08:09:46.000Z', '+02:00'],
    ['2019:04:24 22:24:00+02:00 DST', undefined, undefined, '2019-04-24T20:24:00.000Z', '+02:00'],
    ['2019-07-24T11:25:40+0300', undefined, undefined, '2019-07-24T08:25:40.000Z', '+03:00'],
    ['2005-10-28T17:36:40.000000Z', undefined, undefined, '2005-10-28T17:36:40.000Z', '+00:00'],
    ['2019-06-09T12:57:32.835', undefined, undefined, '2019-06-09T12:57:32.835Z', null],
    ['2023:10:06 22:53:51', '+0530', undefined, '2023-10-06T17:23:51.000Z', '+05:30'],
    ['2013:09:23', undefined, undefined, '2013-09-23T00:00:00.000Z', null],
    ['2024:02:29 12:00:00', '   :  ', undefined, '2024-02-29T12:00:00.000Z', null],
  ])('%s (offset %s, subsec %s) -> %s %s', (value, offset, subSeconds, instant, expectedOffset) => {
    expect(parseCameraDate(value, offset, subSeconds)).toEqual({ instant, offset: expectedOffset });
  });

  it.each([
    ['0000:00:00 00:00:00'],
    ['    :  :     :  :  '],
    [''],
    ['2023:02:30 10:00:00'],
    ['2023:13:01 10:00:00'],
    ['2023:01:01 24:00:00'],
    ['not a date'],
    [20230101],
    [undefined],
  ])('%s is absent', (value) => {
    expect(parseCameraDate(value)).toBeNull();
  });
});

describe('normalizeOffset', () => {
  it.each([
    ['+02:00', '+02:00'],
    ['-0500', '-05:00'],
    ['+09', '+09:00'],
    ['Z', '+00:00'],
    ['+14:00', '+14:00'],
    ['+14:30', null],
    ['+02:60', null],
    ['02:00', null],
    [undefined, null],
  ])('%s -> %s', (value, normalized) => {
    expect(normalizeOffset(value)).toBe(normalized);
  });
});
