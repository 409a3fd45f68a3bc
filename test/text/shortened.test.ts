import { describe, expect, it } from 'vitest';
import { shortened } from '../../src/text/shortened.ts';

const bytes = (text: string) => Buffer.byteLength(text);

describe('shortened', () => {
  it('puts text on one line, without control characters, and leaves it whole when it fits', () => {
    expect(shortened('  resize failed:\n\tdisk \u0001 full \u2028 ', 64, 'end')).toBe('resize failed: disk full');
    expect(shortened('x'.repeat(64), 64, 'end')).toBe('x'.repeat(64));
  });

  it('cuts to the bytes of UTF-8 allowed, the ellipsis included, at the end or in the middle', () => {
    expect(shortened('x'.repeat(65), 64, 'end')).toBe(`${'x'.repeat(61)}…`);
    expect(shortened(`web-${'x'.repeat(100)}-01`, 20, 'middle')).toBe('web-xxxxx…xxxxx-01');
    // Three bytes a Chinese character: a third of as many.
    expect(shortened('云服务器规格变更失败'.repeat(10), 30, 'end')).toBe('云服务器规格变更失…');
  });

  it('counts &, <, >, [ and ] as the escapes a chat\'s markup writes for them, so that a short text fits escaped too', () => {
    expect(shortened('[]'.repeat(7), 64, 'end')).toBe(`${'[]'.repeat(6)}…`);
    expect(shortened('&'.repeat(12), 64, 'end')).toBe('&'.repeat(12));
    expect(shortened('&'.repeat(13), 64, 'end')).toBe(`${'&'.repeat(12)}…`);
    expect(shortened(`<${'x'.repeat(59)}`, 64, 'end')).toBe(`<${'x'.repeat(59)}`);
    expect(shortened(`<${'x'.repeat(60)}>`, 20, 'middle')).toBe(`<${'x'.repeat(4)}…${'x'.repeat(3)}>`);
  });

  it('never cuts inside a character as people see it: a surrogate pair, an accent, a flag, an emoji of several', () => {
    for (const text of ['😀', 'e\u0301', '🇩🇪', '👨‍👩‍👧']) {
      for (const cut of ['end', 'middle'] as const) {
        for (let max = 8; max <= 40; max++) {
          const short = shortened(`ab${text.repeat(20)}`, max, cut);
          expect(bytes(short)).toBeLessThanOrEqual(max);
          expect(short.replace('…', '').replace(/^ab?/, '').split(text).every((part) => part === '')).toBe(true);
        }
      }
    }
  });

  it('never cuts inside a character as people see it where it reads a long text in part', () => {
    // Collapsed, a traceback's indentation leaves what was read within the bytes allowed: where the
    // reading stopped is then the cut, which fell inside whatever grapheme stood there.
    for (const text of ['e\u0301', '🇩🇪', '👨‍👩‍👧']) {
      for (let pad = 760; pad <= 800; pad++) {
        const short = shortened(`failed:${' '.repeat(pad)}${text.repeat(20)}`, 200, 'end');
        expect(short.replace(/^failed: ?/, '').replace(/…$/, '').replaceAll(text, '')).toBe('');
      }
    }
  });

  // A lone low surrogate (Python's surrogateescape keeps a byte that is not UTF-8 so, and JSON carries it as
  // \udc80) was taken with the character before it for one of 4 bytes, where it is sent as U+FFFD, 3 bytes
  // more than that character: a name's end, so measured, went past its bytes.
  it('counts a lone surrogate as the 3 bytes of the U+FFFD it is sent as', () => {
    for (const text of ['a\udc80', '\udc80', 'a\ud800', '😀\udc80']) {
      for (const cut of ['end', 'middle'] as const) {
        for (let max = 8; max <= 40; max++) expect(bytes(shortened(text.repeat(30), max, cut))).toBeLessThanOrEqual(max);
      }
    }
  });

  it('reads no more of a long text than it needs, and still says it was cut', () => {
    expect(shortened(`resize failed: ${'x; '.repeat(100_000)}`, 20, 'end')).toBe('resize failed: x;…');
    expect(shortened(`${'\n'.repeat(1000)}resize failed: ${'x '.repeat(100_000)}`, 20, 'end')).toBe('resize failed: x…');
  });
});
