// A watch keeps the last answer about its action for as long as it runs, and JSON.parse gives every answer
// its own copy of each string, although most of them repeat across thousands of watches: the project and
// user ids, the action and event names, the result, each event's host and hostId (56 hex characters), and
// the ids the watch already holds. One copy of each is kept instead.
import type { InstanceAction } from '../model.ts';
import type { ActionRef } from './client.ts';

/**
 * Strings kept at most. Hosts, users and projects are many in a big cloud and change over months: a full pool
 * starts again empty, so that the strings of today's answers are shared and those of long-finished watches are
 * not kept, at the cost of one more copy of each string still in use.
 */
const POOL_SIZE = 4096;

const ACTION_FIELDS = ['action', 'project_id', 'user_id'] as const;
const EVENT_FIELDS = ['event', 'result', 'host', 'hostId'] as const;

export class SharedStrings {
  readonly #pool = new Map<string, string>();

  /**
   * Makes the strings of `action`, an answer just parsed or a record just read back from the state, and not
   * yet shared with anyone, the copies kept for earlier ones (and the watch's own ids). Changes no value.
   */
  shareAction(action: InstanceAction, ref: ActionRef): void {
    this.#shareFields(action, ACTION_FIELDS);
    if (action.request_id === ref.requestId) action.request_id = ref.requestId;
    if (action.instance_uuid === ref.serverId) action.instance_uuid = ref.serverId;
    for (const event of action.events ?? []) this.#shareFields(event, EVENT_FIELDS);
  }

  #shareFields(object: Record<string, unknown>, fields: readonly string[]): void {
    for (const field of fields) {
      const value = object[field];
      if (typeof value === 'string') object[field] = this.share(value);
    }
  }

  /** The copy kept of `value`: itself the first time. */
  share(value: string): string {
    const kept = this.#pool.get(value);
    if (kept !== undefined) return kept;
    if (this.#pool.size >= POOL_SIZE) this.#pool.clear();
    this.#pool.set(value, value);
    return value;
  }
}
