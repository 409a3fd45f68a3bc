import { stripVTControlCharacters, styleText } from 'node:util';
import type { Outcome } from '../model.ts';
import { BIDI_CONTROLS } from '../text/bidi.ts';

type Style = Parameters<typeof styleText>[0];

/**
 * A plain aligned text table: readable in a terminal and in a CI log alike. `style` colours a cell after
 * it is padded (escape codes would throw the alignment off otherwise); leave it out for plain text.
 */
export function renderTable(header: string[], cellsOf: string[][], style?: (row: number, column: number, cell: string) => Style | null): string {
  const rows = cellsOf.map((row) => row.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const line = (cells: string[], row: number) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - displayWidth(c)));
        const format = row >= 0 ? style?.(row, i, c) : style ? 'bold' : null;
        return format ? styleText(format, padded, { validateStream: false }) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(header, -1), ...rows.map(line)].join('\n');
}

/**
 * Text for a terminal: a cloud's or a receiver's words (a fault message, an error answer, a server's name)
 * without the escape sequences and control characters that could rewrite the screen, break a table's line
 * or turn the text around.
 */
export function printable(text: string): string {
  return stripVTControlCharacters(text).replace(/\p{Cc}+/gu, ' ').replace(BIDI_CONTROLS, '');
}

// East Asian wide and fullwidth characters (CJK, Hangul, kana, fullwidth forms) and emoji shown as such.
// Not string-width: it compiles its emoji and width tables as it loads, 8 MB more for every `check` (50.5
// against 42.7 MB for Node alone), where these cost nothing until a cell is not ASCII.
const WIDE = /[\p{Emoji_Presentation}\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uA960-\uA97F\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{20000}-\u{3FFFD}]/u;
// What a terminal draws on the cell before it: combining marks, joiners, variation selectors.
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]+$/u;
let graphemes: Intl.Segmenter | undefined;

/** The columns `text` (printable: no control characters) takes on a terminal, a character at a time. */
function* columnsOf(text: string): Generator<[string, number]> {
  graphemes ??= new Intl.Segmenter();
  for (const { segment } of graphemes.segment(text)) yield [segment, WIDE.test(segment) ? 2 : ZERO_WIDTH.test(segment) ? 0 : 1];
}

/** The columns `text` takes on a terminal: a CJK character two, a combining accent none. */
export function displayWidth(text: string): number {
  // Most cells are ASCII: ids, states, ages.
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let width = 0;
  for (const [, columns] of columnsOf(text)) width += columns;
  return width;
}

/** `text` cut to `width` columns, ending in … when it was longer. */
export function cutToWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let kept = '';
  let used = 0;
  for (const [segment, columns] of columnsOf(text)) {
    if (used + columns > width - 1) break;
    kept += segment;
    used += columns;
  }
  return `${kept}…`;
}

/** The colour of a watch's state, for tables and progress lines on a terminal. */
export function stateStyle(state: Outcome | 'pending' | 'poll failed' | 'delivered' | 'failed'): Style {
  switch (state) {
    case 'success':
    case 'delivered':
      return 'green';
    case 'pending':
      return 'cyan';
    case 'timeout':
    case 'not_found':
      return 'yellow';
    default:
      return 'red';
  }
}

/** An age at a glance: `45s`, `4m05s`, `2h10m`, `3d04h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor(s / 3600) % 24)}h`;
}
