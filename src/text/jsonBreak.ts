/** Whitespace JSON allows between tokens. */
const SPACE = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/**
 * Where `text` stops being JSON: the 1-based line and column of the first character that cannot continue
 * it, or past its end when it `endsShort` (cut off); null when it is JSON. For a file JSON.parse refused,
 * said without quoting any of it: V8's message quotes the text around the fault, and gives no place at all
 * for an unexpected token (a trailing comma in a list, a word mistyped, a quote that is not `"`). Scanned
 * with a stack of its own, not by recursion, which a file nested thousands deep would overflow.
 */
export function jsonBreak(text: string): { line: number; column: number; endsShort: boolean } | null {
  const at = breakOffset(text);
  if (at === null) return null;
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) line++;
  return { line, column: at - lineStart + 1, endsShort: at === text.length };
}

function breakOffset(text: string): number | null {
  const closers: string[] = [];
  let at = 0;
  let expecting: 'value' | 'key' | 'after' = 'value';
  const skipSpace = () => {
    while (SPACE.has(text[at] ?? '')) at++;
  };
  const matched = (pattern: RegExp): boolean => {
    pattern.lastIndex = at;
    if (!pattern.test(text)) return false;
    at = pattern.lastIndex;
    return true;
  };
  /** Reads a string at `at`; false where it breaks (at stays there). */
  const string = (): boolean => {
    if (text[at] !== '"') return false;
    at++;
    for (;;) {
      const c = text[at];
      if (c === '"') {
        at++;
        return true;
      }
      if (c === undefined || c < ' ') return false;
      if (c !== '\\') at++;
      else if (!matched(ESCAPE)) return false;
    }
  };
  for (;;) {
    skipSpace();
    if (expecting === 'after') {
      const closer = closers.at(-1);
      if (closer === undefined) return at === text.length ? null : at;
      if (text[at] === ',') {
        at++;
        expecting = closer === '}' ? 'key' : 'value';
      } else if (text[at] === closer) {
        at++;
        closers.pop();
      } else {
        return at;
      }
      continue;
    }
    if (expecting === 'key') {
      if (!string()) return at;
      skipSpace();
      if (text[at] !== ':') return at;
      at++;
      expecting = 'value';
      continue;
    }
    const c = text[at];
    if (c === '{' || c === '[') {
      at++;
      skipSpace();
      const closer = c === '{' ? '}' : ']';
      if (text[at] === closer) {
        at++;
        expecting = 'after';
      } else {
        closers.push(closer);
        expecting = c === '{' ? 'key' : 'value';
      }
      continue;
    }
    if (!(c === '"' ? string() : matched(NUMBER) || matched(LITERAL))) return at;
    expecting = 'after';
  }
}
