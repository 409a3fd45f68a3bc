/**
 * At most `max` characters of `text`, as a message quotes a key or value of the file: one pasted by
 * mistake (a certificate, a screenful of log) would otherwise fill the terminal, and the log line, with
 * itself. How long it was follows, unless `counted` is false (a path, where it would read as the key's).
 */
export function clipped(text: string, max = 80, counted = true): string {
  if (text.length <= max) return text;
  return `${prefix(text, max)}…${counted ? ` (${text.length} characters)` : ''}`;
}

/** At most `max` UTF-16 units of `text` from its start. */
export function prefix(text: string, max: number): string {
  if (text.length <= max) return text;
  // Not between the two halves of a surrogate pair, which would print as a stray replacement character.
  return text.slice(0, /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max);
}

/** A key or value of the file as a message quotes it: in quotes, and in part when long. */
export function quoted(text: string): string {
  return `'${clipped(text)}'`;
}
