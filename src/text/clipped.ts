/**
 * At most `max` characters of `text`, as a message quotes a key or value of the file: one pasted by
 * mistake (a certificate, a screenful of log) would otherwise fill the terminal, and the log line, with
 * itself. How long it was follows, unless `counted` is false (a path, where it would read as the key's).
 * Its unseen characters are escaped (visible()).
 */
export function clipped(text: string, max = 80, counted = true): string {
  return visible(cut(text, max, counted));
}

/** clipped(), its unseen characters as they are: for text that is escaped otherwise (JSON.stringify). */
export function cut(text: string, max: number, counted: boolean): string {
  if (text.length <= max) return text;
  return `${prefix(text, max)}…${counted ? ` (${text.length} characters)` : ''}`;
}

/** At most `max` UTF-16 units of `text` from its start. */
export function prefix(text: string, max: number): string {
  if (text.length <= max) return text;
  // Not between the two halves of a surrogate pair, which would print as a stray replacement character.
  return text.slice(0, /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max);
}

/**
 * Characters a terminal acts on (a line break, which would split a problem over two lines; ESC, which
 * starts a terminal command) or shows as nothing (a BOM, a zero-width space, a direction mark) or as a
 * space it is not (a no-break space, which a file copied from a web page has in its indentation), which
 * make a key look like the one it is not.
 */
const UNSEEN = /[\p{Cc}\p{Cf}\u2028\u2029\p{Zs}]/gu;

/** `text` with its unseen characters escaped as JSON escapes them in a path (`\n`, `\u001b`), and as JSON does not, `\ufeff`. */
export function visible(text: string): string {
  return text.replace(UNSEEN, (c) => {
    if (c === ' ') return c;
    const json = JSON.stringify(c).slice(1, -1);
    if (json !== c) return json;
    const code = c.codePointAt(0)!.toString(16);
    return c.length === 1 ? `\\u${code.padStart(4, '0')}` : `\\u{${code}}`;
  });
}

/** `text` without the characters visible() escapes that a terminal shows as nothing. */
export const withoutInvisible = (text: string) => text.replace(/\p{Cf}/gu, '');

/** A key or value of the file as a message quotes it: in quotes, and in part when long. */
export function quoted(text: string): string {
  return `'${clipped(text)}'`;
}
