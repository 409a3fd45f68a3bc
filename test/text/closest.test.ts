import fc from 'fast-check';
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

describe('closest, for any words', () => {
  const word = fc.string({ minLength: 1, maxLength: 12 });
  const words = fc.uniqueArray(word, { minLength: 1, maxLength: 12, selector: (w) => w.toLowerCase() });

  it('names one of the allowed words or none, and a word allowed as it is itself', () => {
    fc.assert(
      fc.property(word, words, (given, allowed) => {
        const guess = closest(given, allowed);
        if (guess !== undefined) expect(allowed).toContain(guess);
        for (const a of allowed) expect(closest(a, allowed)).toBe(a);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same guess whatever the order of the allowed words', () => {
    fc.assert(
      fc.property(word, words, (given, allowed) => {
        expect(closest(given, [...allowed].reverse())).toBe(closest(given, allowed));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('meant', () => {
  it('says nothing of a word that looks like no slip', () => {
    expect(meant('color', WATCH_KEYS)).toBe('');
  });

  it('names the allowed word a slip most likely is', () => {
    expect(meant('server', WATCH_KEYS)).toBe("; did you mean 'serverId'?");
  });

  it('says so of a word that is an allowed one and an invisible character, which looks the same', () => {
    expect(meant('notify\uFEFF', WATCH_KEYS)).toBe("; it is 'notify' with an invisible character in it: type it again");
  });
});
