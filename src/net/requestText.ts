// One HTTP request whose answer is wanted as text, on undici's dispatcher API: the body's chunks are
// collected as they come, with no stream, no AbortController and no event listener per request. A daemon
// polling thousands of watches a second pays for each of those on every poll; undici's request() builds
// all three (and an async resource) around the same dispatch.
import { StringDecoder } from 'node:string_decoder';
import type { Dispatcher } from 'undici';
import { listenForAbort } from '../lifecycle/abort.ts';

export interface TextRequest {
  method: string;
  url: string;
  headers: Readonly<Record<string, string>>;
  body?: string | undefined;
}

export interface TextResponse {
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** More than the bytes kept came. */
  truncated: boolean;
}

export interface TextLimits {
  /** For the whole exchange, in milliseconds: the answer complete, or the request fails with a TimeoutError. */
  timeoutMs: number;
  /** Bytes kept of a 2xx body; of any other body, `keepError`. */
  keep: number;
  keepError: number;
  /** A body is read on (and dropped) past what is kept up to this many bytes, so that its connection is reused; beyond, it is closed. */
  drain: number;
  /**
   * An answer whose body breaks off after its status came (the connection lost, the timeout or an abort)
   * resolves with what was read (`truncated`) instead of failing: for a sender, whose request the
   * receiver has had once it answered, and which would send it twice if that counted as a failure. A
   * function says it of the statuses it holds true for.
   */
  answeredOnBodyError?: boolean | ((status: number) => boolean);
}

/** The error a request fails with when `timeoutMs` ran out. */
export class RequestTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  /**
   * A connection had taken the request (undici writes it as it hands it over): false when it ran out while
   * connecting (a handshake the server never answered) or waiting for a free connection, nothing sent.
   */
  readonly sent: boolean;

  constructor(message: string, sent: boolean) {
    super(message);
    this.sent = sent;
  }
}

// Origin and path as undici's dispatch wants them; a URL with credentials or anything unusual goes through URL.
const PLAIN_ORIGIN = /^https?:\/\/[^/?#@\s]+/i;

function split(url: string): { origin: string; path: string } {
  const origin = PLAIN_ORIGIN.exec(url)?.[0];
  const rest = origin === undefined ? '' : url.slice(origin.length);
  if (origin !== undefined && (rest === '' || rest.startsWith('/'))) return { origin, path: rest || '/' };
  const parsed = new URL(url);
  return { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
}

/**
 * Sends `request` and resolves with the answer, whatever its status, once its body has been read (or, with
 * `answeredOnBodyError`, has broken off after the status); rejects below HTTP (undici's errors, a
 * RequestTimeoutError) or with the reason of the first of `signals` to abort.
 */
export function requestText(
  dispatcher: Dispatcher,
  request: TextRequest,
  limits: TextLimits,
  signals: readonly (AbortSignal | undefined)[],
): Promise<TextResponse> {
  // Throws the reason of a signal already aborted (listenForAbort refuses it), before anything is sent.
  const handler = new TextHandler(limits, signals);
  try {
    const { origin, path } = split(request.url);
    // undici's own timeouts off (0): the handler's timer bounds the whole exchange, queue and connection
    // included, so theirs could only fire with it or after it. Each request would make one of undici's fast
    // timers, which its list keeps once cleared until its next tick (half a second): what a steady poll most
    // often aged into the old generation (docs/performance.md, A poll).
    dispatcher.dispatch(
      { origin, path, method: request.method as Dispatcher.HttpMethod, headers: request.headers, body: request.body, headersTimeout: 0, bodyTimeout: 0 },
      handler,
    );
  } catch (err) {
    // A URL that does not parse, or a dispatcher that refuses at once: the handler's timer and listeners go too.
    handler.onResponseError(undefined, err as Error);
  }
  return handler.promise;
}

class TextHandler implements Dispatcher.DispatchHandler {
  readonly promise: Promise<TextResponse>;
  #resolve!: (answer: TextResponse) => void;
  #reject!: (err: unknown) => void;
  readonly #limits: TextLimits;
  /** Called when the request ends: from then on nothing on the long-lived signals reaches this handler. */
  readonly #stopListening: () => void;
  readonly #timer: NodeJS.Timeout;
  #controller: Dispatcher.DispatchController | undefined;
  /** Why it was cut short before undici handed over its controller. */
  #abortReason: unknown;
  #done = false;
  #status = 0;
  #statusText = '';
  #headers: Record<string, string | string[] | undefined> = {};
  #keep = 0;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(limits: TextLimits, signals: readonly (AbortSignal | undefined)[]) {
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#limits = limits;
    this.#stopListening = listenForAbort(signals, (reason) => this.#abort(reason));
    this.#timer = setTimeout(timedOut, limits.timeoutMs, this);
  }

  timeout(): void {
    this.#abort(new RequestTimeoutError(`timed out after ${this.#limits.timeoutMs} ms`, this.#controller !== undefined));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason !== undefined) controller.abort(this.#abortReason as Error);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>, statusText?: string): void {
    // undici hands over interim answers too (102 Processing, 103 Early Hints): the request is not answered
    // by one, and taken as the status, a body that broke off after it was a sender's answer it gives up on.
    if (status < 200) return;
    this.#status = status;
    this.#statusText = statusText ?? '';
    this.#headers = headers;
    this.#keep = status >= 200 && status < 300 ? this.#limits.keep : this.#limits.keepError;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#size < this.#keep) this.#chunks.push(this.#size + chunk.length <= this.#keep ? chunk : chunk.subarray(0, this.#keep - this.#size));
    this.#size += chunk.length;
    if (this.#size > this.#limits.drain) {
      // Enough is read: the answer is complete as far as we keep it, and the connection goes.
      this.#succeed();
      controller.abort(new Error('body larger than we read'));
    }
  }

  onResponseEnd(): void {
    this.#succeed();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.#brokenOff(err);
  }

  #abort(reason: unknown): void {
    if (this.#done) return;
    this.#brokenOff(reason);
    if (this.#controller === undefined) this.#abortReason = reason;
    else this.#controller.abort(reason as Error);
  }

  #brokenOff(err: unknown): void {
    const answered = this.#limits.answeredOnBodyError;
    if (this.#status !== 0 && (answered === true || (typeof answered === 'function' && answered(this.#status)))) this.#succeed(true);
    else this.#fail(err);
  }

  #succeed(brokenOff = false): void {
    if (this.#finish()) return;
    const chunks = this.#chunks;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const truncated = brokenOff || this.#size > this.#keep;
    // A body cut short may end inside a character: decoded whole, those bytes became U+FFFD, after which a
    // secret the answer quoted there no longer ended the text and was shown in part (redact hides a secret
    // cut short only where the text ends). The decoder keeps back an incomplete last character.
    const text = truncated ? new StringDecoder('utf8').write(body) : body.toString('utf8');
    this.#resolve({ status: this.#status, statusText: this.#statusText, headers: this.#headers, text, truncated });
  }

  #fail(err: unknown): void {
    if (this.#finish()) return;
    this.#reject(err);
  }

  /** Releases the timer and the listeners; true when the request had already ended. */
  #finish(): boolean {
    if (this.#done) return true;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#stopListening();
    return false;
  }
}

function timedOut(handler: TextHandler): void {
  handler.timeout();
}
