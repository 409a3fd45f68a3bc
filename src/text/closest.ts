// What a misspelt key or value most likely meant, for a message that can say "did you mean 'serverId'?".

import { withoutInvisible } from './clipped.ts';

/** Edits between two words, a swap of two neighbouring letters counting as one (`shcedule`). */
function distance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, before[j - 2]! + 1);
    }
    before = previous;
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * The one allowed word `word` most likely stands for: the same but for case (`ServerId`), the only one
 * it begins (`server` for `serverId`, as the command line's `--server` names it), the longest one it
 * begins with that is at least half of it (`warning` for `warn`, `timeoutMs` for `timeout`), or the only
 * nearest within a letter or two, where the word is long enough for that not to be chance (`shedule`).
 * None when two are as likely: a guess that may be wrong is worse than the list of allowed words alone.
 */
export function closest(word: string, allowed: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const only = (found: string[]) => (found.length === 1 ? found[0] : undefined);
  const sameButCase = allowed.filter((a) => a.toLowerCase() === lower);
  if (sameButCase.length > 0) return only(sameButCase);
  if (lower.length >= 3) {
    const begun = allowed.filter((a) => a.toLowerCase().startsWith(lower));
    if (begun.length > 0) return only(begun);
    const prefixes = allowed.filter((a) => a.length >= 3 && a.length * 2 >= lower.length && lower.startsWith(a.toLowerCase()));
    if (prefixes.length > 0) return prefixes.reduce((longest, a) => (a.length > longest.length ? a : longest));
  }
  let best: string[] = [];
  let bestDistance = Infinity;
  for (const a of allowed) {
    // Words apart in length by more than that are never near: a pasted screenful costs nothing.
    if (Math.abs(lower.length - a.length) > 2) continue;
    const d = distance(lower, a.toLowerCase());
    if (d > 2 || d * 3 > Math.max(lower.length, a.length)) continue;
    if (d < bestDistance) [best, bestDistance] = [[a], d];
    else if (d === bestDistance) best.push(a);
  }
  return only(best);
}

/** `; did you mean 'serverId'?` after a message naming `word`, when it looks like a slip of one allowed. */
export function meant(word: string, allowed: readonly string[]): string {
  const guess = closest(word, allowed);
  if (guess === undefined) return '';
  // Shown escaped, it would pass for a slip of the keyboard.
  if (word !== guess && withoutInvisible(word) === guess) return `; it is '${guess}' with an invisible character in it: type it again`;
  return `; did you mean '${guess}'?`;
}
