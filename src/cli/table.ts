import { stripVTControlCharacters, styleText } from 'node:util';
import type { Outcome } from '../model.ts';

type Style = Parameters<typeof styleText>[0];

/**
 * A plain aligned text table: readable in a terminal and in a CI log alike. `style` colours a cell after
 * it is padded (escape codes would throw the alignment off otherwise); leave it out for plain text.
 */
export function renderTable(header: string[], cellsOf: string[][], style?: (row: number, column: number, cell: string) => Style | null): string {
  const rows = cellsOf.map((row) => row.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[], row: number) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0);
        const format = row >= 0 ? style?.(row, i, c) : style ? 'bold' : null;
        return format ? styleText(format, padded, { validateStream: false }) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(header, -1), ...rows.map(line)].join('\n');
}

/**
 * Text for a terminal: a cloud's or a receiver's words (a fault message, an error answer) without the escape
 * sequences and control characters that could rewrite the screen or break a table's line.
 */
export function printable(text: string): string {
  return stripVTControlCharacters(text).replace(/\p{Cc}+/gu, ' ');
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
