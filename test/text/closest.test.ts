import { describe, expect, it } from 'vitest';
import { closest, meant } from '../../src/text/closest.ts';

const WATCH_KEYS = ['kind', 'requestId', 'serverId', 'name', 'projectId', 'notify', 'deadline', 'warnAfter', 'batch', 'batchWindow'];

describe('closest', () => {
  it.each([
    ['serverID', 'serverId', 'the same but for case'],
    ['server', 'serverId', 'the only key it begins, as the command line names it'],
    ['dedline', 'deadline', 'a letter left out'],
    ['deaddline', 'deadline', 'a letter doubled'],
    ['notfiy', 'notify', 'two letters swapped'],
    ['warnAfer', 'warnAfter', 'a letter left out, case kept'],
    ['nam', 'name', 'the only key it begins'],
    ['deadlineMs', 'deadline', 'the key it begins with'],
    ['batchWindowMs', 'batchWindow', 'the longest of the keys it begins with (batch, batchWindow)'],
  ])('%s -> %s (%s)', (word, expected) => {
    expect(closest(word, WATCH_KEYS)).toBe(expected);
  });

  it.each([
    ['batc', 'it begins two keys (batch, batchWindow): no guess'],
    ['id', 'too short to begin a key by chance'],
    ['color', 'nothing near'],
  ])('%s: %s', (word) => {
    expect(closest(word, WATCH_KEYS)).toBeUndefined();
  });

  it('takes a word a letter or two longer, and none much longer (a screenful pasted as a key)', () => {
    expect(closest('deadlinex', WATCH_KEYS)).toBe('deadline');
    expect(closest(`deadline${'x'.repeat(100_000)}`, WATCH_KEYS)).toBeUndefined();
  });

  it('does not guess between two as near as each other', () => {
    expect(closest('tost', ['test', 'toast'])).toBeUndefined();
    expect(closest('to', ['tls', 'on'])).toBeUndefined();
  });
});

describe('meant', () => {
  it('says nothing when no word looks like a slip', () => {
    expect(meant(['color'], WATCH_KEYS)).toBe('');
  });

  it('names the guess alone for one word, and which word each guess is for among several', () => {
    expect(meant(['server'], WATCH_KEYS)).toBe("; did you mean 'serverId'?");
    expect(meant(['server', 'color', 'dedline'], WATCH_KEYS)).toBe("; did you mean 'serverId' for 'server', 'deadline' for 'dedline'?");
  });
});
