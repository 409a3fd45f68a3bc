import { describe, expect, it } from 'vitest';
import { TargetHold, changedFields, describeHeld } from '../../src/watch/targetHold.ts';
import type { WatchTarget } from '../../src/watch/kinds/types.ts';

const HOUR = 3_600_000;

function watch(requestId: string, deadlineMs: number, settings: Partial<WatchTarget> = {}): WatchTarget {
  return { projectId: 'p', serverId: `srv-${requestId}`, requestId, deadlineMs, ...settings } as WatchTarget;
}

/** The reloaded file's notifiers. */
const NOTIFIERS = new Set(['chat', 'ops-mail']);

/** As the file lists it: every setting a cut can take away. */
const SETTINGS = { name: 'resize web-01', notify: ['chat'], warnAfter: 20 * 60_000, batch: 'resize-2026-11', batchWindowMs: HOUR };

describe('TargetHold', () => {
  it.each([
    ['notify', { notify: undefined }],
    ['notify', { notify: ['chat', 'ops-mail'] }],
    ['batch', { batch: undefined }],
    ['batchWindowMs', { batchWindowMs: undefined }],
    ['warnAfter', { warnAfter: 60_000 }],
    ['warnAfter', { warnAfter: undefined }],
    ['name', { name: undefined }],
  ])('keeps the confirmed file\'s target when a reload changes %s, until that file is confirmed', (field, change) => {
    const confirmed = watch('a', HOUR, SETTINGS);
    const hold = new TargetHold([confirmed]);
    const reloaded = [watch('a', HOUR, { ...SETTINGS, ...change })];
    const { targets, held } = hold.apply(reloaded, NOTIFIERS);
    expect(targets[0]).toBe(confirmed);
    expect(held).toEqual([{ reloaded: reloaded[0], kept: confirmed, fields: [field] }]);
    hold.confirm(reloaded);
    expect(hold.apply(reloaded, NOTIFIERS)).toEqual({ targets: reloaded, held: [] });
  });

  it('turns a warnAfter on only once the file is confirmed', () => {
    const confirmed = watch('a', HOUR);
    const reloaded = watch('a', HOUR, { warnAfter: 60_000 });
    const { targets, held } = new TargetHold([confirmed]).apply([reloaded], NOTIFIERS);
    expect(targets[0]).toBe(confirmed);
    expect(held.map((h) => h.fields)).toEqual([['warnAfter']]);
  });

  it('keeps a deadline a reload shortened, and lets a longer one through at once, with the rest of the target held', () => {
    const hold = new TargetHold([watch('a', 12 * HOUR), watch('b', HOUR), watch('c', HOUR, { notify: ['chat'] })]);
    const reloaded = [watch('a', 6 * HOUR), watch('b', 2 * HOUR), watch('c', 2 * HOUR)];
    const { targets, held } = hold.apply(reloaded, NOTIFIERS);
    expect(targets.map((t) => t.deadlineMs)).toEqual([12 * HOUR, 2 * HOUR, 2 * HOUR]);
    // The longer deadline alone: nothing held, the reloaded object itself.
    expect(targets[1]).toBe(reloaded[1]);
    // A longer deadline with a dropped notify: the deadline through, notify kept.
    expect(targets[2]).toMatchObject({ notify: ['chat'], deadlineMs: 2 * HOUR });
    expect(held.map(({ reloaded: r, fields }) => [r, fields])).toEqual([
      [reloaded[0], ['deadlineMs']],
      [reloaded[2], ['notify']],
    ]);
  });

  it('lets a notify through at once that names notifiers the reloaded file lacks: kept, it would notify nobody', () => {
    const hold = new TargetHold([watch('a', HOUR, { notify: ['chat'], batch: 'b1' }), watch('b', HOUR, { notify: ['chat'] })]);
    // `chat` renamed `slack`, and a watch moved to another batch in the same edit.
    const reloaded = [watch('a', HOUR, { notify: ['slack'], batch: 'b2' }), watch('b', HOUR, { notify: ['slack'] })];
    const { targets, held } = hold.apply(reloaded, new Set(['slack', 'ops-mail']));
    expect(targets[0]).toEqual({ ...reloaded[0], batch: 'b1' });
    expect(targets[1]).toBe(reloaded[1]);
    expect(held.map((h) => h.fields)).toEqual([['batch']]);
  });

  it('measures against the last confirmed file, not the last reloaded one: a watch left out and back keeps its target', () => {
    const confirmed = watch('a', 12 * HOUR, { notify: ['chat'] });
    const hold = new TargetHold([confirmed]);
    // A cut read without the watch, then one with it but without its later keys, neither confirmed.
    expect(hold.apply([], NOTIFIERS)).toEqual({ targets: [confirmed], held: [{ reloaded: null, kept: confirmed, fields: [] }] });
    expect(hold.apply([watch('a', 6 * HOUR)], NOTIFIERS).targets[0]).toBe(confirmed);
  });

  it('polls on, as it was, a watch the reloaded file left out, until that file is confirmed', () => {
    const [a, b, c] = [watch('a', HOUR), watch('b', HOUR, SETTINGS), watch('c', HOUR)];
    const hold = new TargetHold([a, b, c]);
    const reloaded = [watch('a', HOUR)];
    const { targets, held } = hold.apply(reloaded, NOTIFIERS);
    expect(targets).toEqual([reloaded[0], b, c]);
    expect(targets[1]).toBe(b);
    expect(held.map((h) => [h.kept, h.reloaded])).toEqual([[b, null], [c, null]]);
    expect(describeHeld(held[0]!)).toEqual({ held: ['the watch'], kept: 'listed', reloaded: 'left out' });
    hold.confirm(reloaded);
    expect(hold.apply(reloaded, NOTIFIERS)).toEqual({ targets: reloaded, held: [] });
  });

  it('holds nothing for a watch no confirmed file listed', () => {
    const hold = new TargetHold([]);
    const added = [watch('new', 60_000)];
    expect(hold.apply(added, NOTIFIERS)).toEqual({ targets: added, held: [] });
  });

  it('passes a watch the reload left as it was through as the reloaded object, not a copy', () => {
    const hold = new TargetHold([watch('a', HOUR, SETTINGS), watch('b', HOUR)]);
    const reloaded = [watch('a', HOUR, { ...SETTINGS, notify: ['chat'] }), watch('b', HOUR, { notify: undefined })];
    const { targets, held } = hold.apply(reloaded, NOTIFIERS);
    expect(targets[0]).toBe(reloaded[0]);
    expect(targets[1]).toBe(reloaded[1]);
    expect(held).toEqual([]);
  });
});

describe('changedFields', () => {
  it('names each field that differs, a left-out one and one set to undefined being the same', () => {
    expect(changedFields(watch('a', HOUR, SETTINGS), watch('a', HOUR, { ...SETTINGS }))).toEqual([]);
    expect(changedFields(watch('a', HOUR, { batch: undefined }), watch('a', HOUR))).toEqual([]);
    expect(changedFields(watch('a', HOUR, SETTINGS), watch('a', 2 * HOUR, { warnAfter: null }))).toEqual(['deadlineMs', 'name', 'notify', 'warnAfter', 'batch', 'batchWindowMs']);
    expect(changedFields(watch('a', HOUR), watch('a', HOUR, { warnAfter: null, notify: [] }))).toEqual(['warnAfter', 'notify']);
  });
});

describe('describeHeld', () => {
  it('says what is held as the watch file writes it', () => {
    const kept = watch('a', HOUR, SETTINGS);
    const reloaded = watch('a', 100, { name: SETTINGS.name, warnAfter: null });
    expect(describeHeld({ kept, reloaded, fields: changedFields(kept, reloaded) })).toEqual({
      held: ['deadline', 'notify', 'warnAfter', 'batch', 'batchWindow'],
      kept: { deadline: '1 h', notify: ['chat'], warnAfter: '20 min', batch: 'resize-2026-11', batchWindow: '1 h' },
      reloaded: { deadline: '100 ms', notify: undefined, warnAfter: 'off', batch: undefined, batchWindow: undefined },
    });
  });
});
