/** A stream a person watches: progress lines, colours and readable logs are for it only. */
export function isTerminal(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/**
 * A terminal that obeys escape sequences: not one that says it is `dumb` (Emacs' shell, an IDE's console),
 * which prints them as text, each redraw of a line in place one more `^[[2K` on the screen.
 */
export function obeysEscapes(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv): boolean {
  return isTerminal(stream) && env['TERM'] !== 'dumb';
}

/** Colours on `stream`: a terminal, and the user has not asked for none (https://no-color.org). */
export function wantsColour(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv): boolean {
  return obeysEscapes(stream, env) && !env['NO_COLOR'];
}

/** The terminal's width, for cutting long cells; undefined when it is not a terminal. */
export function terminalWidth(stream: NodeJS.WritableStream): number | undefined {
  return isTerminal(stream) ? (stream as { columns?: number }).columns : undefined;
}
