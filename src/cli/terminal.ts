/** A stream a person watches: progress lines, colours and readable logs are for it only. */
export function isTerminal(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** Colours on `stream`: a terminal, and the user has not asked for none (https://no-color.org). */
export function wantsColour(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv): boolean {
  return isTerminal(stream) && !env['NO_COLOR'] && env['TERM'] !== 'dumb';
}

/** The terminal's width, for cutting long cells; undefined when it is not a terminal. */
export function terminalWidth(stream: NodeJS.WritableStream): number | undefined {
  return isTerminal(stream) ? (stream as { columns?: number }).columns : undefined;
}
