// What the shared notifier suite (../conformance.test.ts) needs of a notifier type's receiver: one module
// here a type, named after it, exporting `startReceiver`. The suite fails for a registered type that has none.

/** How the receiver answers the deliveries that reach it from now on. */
export type ReceiverMode =
  /** It takes them. */
  | 'accept'
  /** It puts them off with an answer that another attempt may get past, asking for no pause (a 503, a 451): reason `server`. */
  | 'later'
  /** It refuses them for good (a 400, a 550): reason `refused`. */
  | 'refuse'
  /** It refuses them, quoting in its answer everything it was sent: the credentials first. */
  | 'quote'
  /** It takes the connection and never answers. */
  | 'silent';

export interface ConformanceReceiver {
  /**
   * The notifier's entry in the watch file, aimed at this receiver, with a secret in each of the type's
   * secret keys and wherever else it takes a credential; `timeout` at a minute or more, so that a send
   * that ignores its abort signal outlives the test.
   */
  readonly config: Record<string, unknown>;
  /** Every secret written into `config`. */
  readonly secrets: readonly string[];
  /**
   * Every credential the notifier made of them that reached the receiver, as it came (a Basic or signature
   * header, an encoded login): 'quote' quotes these first, where no cut of a long answer can drop them.
   */
  readonly sent: readonly string[];
  /** The same entry aimed at a port where nothing listens. */
  readonly configWhenDown: Record<string, unknown>;
  /** The delivery id each delivery that reached it carried (webhook-id, Message-ID), taken or not. */
  readonly ids: readonly string[];
  answer(mode: ReceiverMode): void;
  close(): Promise<void>;
}

export type StartReceiver = () => Promise<ConformanceReceiver>;
