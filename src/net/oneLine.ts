import { prefix } from '../text/clipped.ts';

/** Collapses whitespace and cuts to `max` characters, so that API text fits an operator's log line. */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${prefix(flat, max - 1)}…`;
}
