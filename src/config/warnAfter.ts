// `poll.warnAfter`: how long an action may run before an early warning (`ecs.action.slow`) is sent. Off
// unless asked for: the contract's notifiers are told outcomes, and a warning is one more notification
// than a file that never mentions warnAfter expects. Action types take very different times, so `auto`
// (or a mapping) takes a table, the one place where those durations live.
import * as z from 'zod';
import { dictionary, dictionarySchema, type Dictionary } from '../data/dictionary.ts';
import { DURATION_OR_OFF_JSON, durationOrOff } from './fields.ts';
import { quoted } from '../text/clipped.ts';
import { configErrorMap } from './messages.ts';

/**
 * About three times what each action usually takes on Nova with libvirt/KVM and on Huawei Cloud ECS, so
 * that a warning means "look at it", not "it is a busy day". Nova's own limits set the floor: a soft
 * reboot turns hard after `wait_soft_reboot_seconds` (120 s), a stop waits `shutdown_timeout` (60 s) for
 * the guest; a create or rebuild waits for its image or volume (`block_device_allocate_retries`, 3 min);
 * a resize or cold migration copies the disk between hosts; a live migration copies memory until it
 * converges (Nova aborts it after `live_migration_completion_timeout`, 800 s per GiB); a snapshot
 * (`createImage`, `createBackup`, `shelve`) uploads the disk to the image service.
 */
const WARN_AFTER_DEFAULTS = {
  create: '30m',
  rebuild: '30m',
  evacuate: '30m',
  unshelve: '30m',
  resize: '1h',
  migrate: '1h',
  'live-migration': '1h',
  createImage: '1h',
  createBackup: '1h',
  shelve: '1h',
  reboot: '10m',
  start: '10m',
  stop: '10m',
  confirmResize: '10m',
  revertResize: '15m',
  rescue: '15m',
  unrescue: '15m',
  delete: '15m',
  /** Every action type not listed. */
  other: '30m',
} as const;

/** The actions Nova records (nova/compute/instance_actions.py); a cloud may record more. */
export const NOVA_ACTIONS: readonly string[] = [
  'create', 'delete', 'evacuate', 'restore', 'stop', 'start', 'reboot', 'rebuild', 'revertResize', 'confirmResize',
  'resize', 'migrate', 'pause', 'unpause', 'suspend', 'resume', 'rescue', 'unrescue', 'changePassword', 'shelve',
  'shelveOffload', 'unshelve', 'live-migration', 'live_migration_cancel', 'live_migration_force_complete',
  'trigger_crash_dump', 'resetNetwork', 'injectNetworkInfo', 'addFixedIp', 'removeFixedIp', 'attach_interface',
  'detach_interface', 'attach_volume', 'detach_volume', 'swap_volume', 'lock', 'unlock', 'createBackup', 'createImage',
  'resetState', 'extend_volume', 'attach_share', 'detach_share',
];

/** Milliseconds by action type (null: no warning); `other` for every type not listed. */
export interface WarnAfterTable {
  byAction: Dictionary<number | null>;
  other: number | null;
}

const ACTION_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const FORMS = 'a duration for every action type (e.g. 20m), off, auto (a duration per action type), or a mapping of action types to durations (e.g. { resize: 2h, other: 30m })';

const mappingSchema = dictionarySchema(
  z.string().regex(ACTION_NAME, { error: (iss) => `${quoted(String(iss.input))} is not an action type: write one as the API names it, e.g. resize or live-migration` }),
  durationOrOff(),
);
const everySchema = durationOrOff();

function tableOf(entries: Dictionary<number | null>): WarnAfterTable {
  const { other = null, ...byAction } = entries;
  return { byAction: dictionary(Object.entries(byAction)), other };
}

const DEFAULT_TABLE: WarnAfterTable = tableOf(mappingSchema.parse(WARN_AFTER_DEFAULTS));
const OFF: WarnAfterTable = { byAction: dictionary(), other: null };

/**
 * `poll.warnAfter`: a duration (or `off`) for every action type, `auto` for WARN_AFTER_DEFAULTS, or a
 * mapping of action types whose entries replace those defaults' (`other` for the types not listed). Left
 * out: off.
 */
export function warnAfterSchema() {
  return z
    .unknown()
    .optional()
    .transform((value, ctx): WarnAfterTable => {
      if (value === undefined || value === null) return OFF;
      if (value === 'auto') return DEFAULT_TABLE;
      const mapping = typeof value === 'object' && !Array.isArray(value);
      if (!mapping && typeof value !== 'string' && typeof value !== 'number') {
        ctx.issues.push({ code: 'custom', input: value, message: `expected ${FORMS}` });
        return z.NEVER;
      }
      // Parsed on its own, without the file's error map unless given: zod's wording would be shown.
      const parsed = (mapping ? mappingSchema : everySchema).safeParse(value, { error: configErrorMap });
      if (!parsed.success) {
        // Each problem where it is, inside the mapping too. A text for every type is said to be none of the
        // forms the whole key takes, not only no duration: auto or a mapping is what it may have meant (a
        // number is a duration without its unit).
        const others = typeof value === 'string' ? ', auto for a duration per action type, or a mapping of action types to durations (e.g. { resize: 2h, other: 30m })' : '';
        for (const issue of parsed.error.issues) ctx.issues.push({ ...issue, message: `${issue.message}${others}`, input: value } as z.core.$ZodRawIssue);
        return z.NEVER;
      }
      if (typeof parsed.data === 'number' || parsed.data === null) return { byAction: dictionary(), other: parsed.data };
      return tableOf({ ...DEFAULT_TABLE.byAction, other: DEFAULT_TABLE.other, ...parsed.data });
    })
    .meta({
      description: `When an early warning (ecs.action.slow) is sent: ${FORMS}. Left out: off. auto: per action type, ${Object.entries(WARN_AFTER_DEFAULTS).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      anyOf: [
        // Written with nothing after it: left out.
        { type: 'null' },
        { const: 'auto' },
        { type: 'string', pattern: DURATION_OR_OFF_JSON.pattern },
        { type: 'object', propertyNames: { pattern: ACTION_NAME.source }, additionalProperties: { type: 'string', ...DURATION_OR_OFF_JSON } },
      ],
    });
}

/** The action types of a table that Nova does not record: likely misspelt (a cloud may add its own). */
export function unknownActionTypes(table: WarnAfterTable): string[] {
  return Object.keys(table.byAction).filter((name) => !NOVA_ACTIONS.includes(name));
}
