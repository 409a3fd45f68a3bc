// Which listed actions are new: exactly those that started after tracking began, each once, whatever the
// listing shows again, late or in another order; and the state kept stays small.
import { describe, expect, it } from 'vitest';
import type { InstanceActionSummary } from '../../src/model.ts';
import { baselineHorizon, cloudClockSet, discover, SEEN_KEPT_MS, SEEN_MARGIN_MS, type Tracked } from '../../src/track/discover.ts';

const T0 = Date.parse('2026-11-26T10:00:00Z');
const nova = (ms: number) => new Date(ms).toISOString().replace('Z', '000');
const action = (id: string, action: string, atMs: number, updatedMs = atMs): InstanceActionSummary => ({
  action, request_id: id, start_time: nova(atMs), updated_at: nova(updatedMs),
});
const FRESH: Tracked = { since: null, horizon: null, seen: {}, cursor: null, ending: false };
const NOW = '2026-11-26T12:00:00.000Z';

function run(listings: InstanceActionSummary[][], filter: string[] | null = null, start: Tracked = FRESH) {
  let state = start;
  const found: string[] = [];
  const skipped: string[] = [];
  for (const listed of listings) {
    const result = discover(state, listed, filter === null ? null : new Set(filter), NOW, Date.parse(NOW));
    state = result.next;
    found.push(...result.found.map((a) => a.request_id));
    skipped.push(...result.skipped.map((a) => a.request_id));
  }
  return { state, found, skipped };
}

describe('discover', () => {
  it('takes the first listing as what was there before tracking: none of it becomes a watch', () => {
    const { state, found } = run([[action('old-2', 'reboot', T0 + 2000), action('old-1', 'create', T0)]]);
    expect(found).toEqual([]);
    expect(state).toMatchObject({ since: NOW, horizon: nova(T0 + 2000), seen: { 'old-2': nova(T0 + 2000) }, cursor: nova(T0 + 2000), ending: false });
  });

  it('takes for new, in a first listing after one that failed, what started from the failed one on, and no older', () => {
    // The first listing failed at T0 + 60 s, which kept that time; the cloud answered again 10 minutes on.
    const failedAt: Tracked = { ...FRESH, horizon: nova(T0 + 60_000) };
    const { state, found } = run([[action('during', 'reboot', T0 + 300_000), action('at', 'stop', T0 + 60_000), action('before', 'create', T0)]], null, failedAt);
    expect(found).toEqual(['at', 'during']);
    expect(state).toMatchObject({ since: NOW, horizon: nova(T0 + 60_000) });
    // And once each: the next listing shows them again.
    expect(run([[action('during', 'reboot', T0 + 300_000)]], null, state).found).toEqual([]);
  });

  it('finds each new action once, oldest first, however often later listings show it', () => {
    const before = [action('old', 'create', T0)];
    const resize = action('r1', 'resize', T0 + 60_000);
    const reboot = action('b1', 'reboot', T0 + 90_000);
    const { found } = run([before, [resize, ...before], [reboot, resize, ...before], [reboot, { ...resize, updated_at: nova(T0 + 95_000) }]]);
    expect(found).toEqual(['r1', 'b1']);
  });

  it('never takes an action older than tracking for new, even when a later listing shows it first', () => {
    // The first page held only the newest action; an older one shows up later (changed, or paged in).
    const { found } = run([[action('newest-before', 'reboot', T0 + 5000)], [action('older', 'stop', T0 + 1000, T0 + 70_000)]]);
    expect(found).toEqual([]);
  });

  it('applies the entry\'s action filter, remembering what it left out', () => {
    const listed = [action('m1', 'live-migration', T0 + 10_000), action('b1', 'reboot', T0 + 20_000)];
    const { found, skipped, state } = run([[action('old', 'create', T0)], listed, listed], ['live-migration', 'resize']);
    expect(found).toEqual(['m1']);
    expect(skipped).toEqual(['b1']);
    expect(Object.keys(state.seen).sort()).toEqual(['b1', 'm1', 'old']);
  });

  it('counts a server without actions at the start as having none older: its first action since is new', () => {
    const { found } = run([[], [action('c1', 'rebuild', Date.parse(NOW) + 5000)]]);
    expect(found).toEqual(['c1']);
  });

  it('never takes for new an action older than tracking that a first listing without actions did not show', () => {
    // Its start more than a minute before the listing's time on the cloud's clock: older than tracking.
    const { found } = run([[], [action('before', 'stop', Date.parse(NOW) - 10 * 60_000), action('c1', 'rebuild', Date.parse(NOW) - 20_000)]]);
    expect(found).toEqual(['c1']);
  });

  it('takes for new an action started in the same second as the newest one before tracking: Nova keeps whole seconds', () => {
    const { found } = run([[action('old', 'create', T0)], [action('r1', 'reboot', T0), action('old', 'create', T0)]]);
    expect(found).toEqual(['r1']);
  });

  it('never moves the horizon back: an action older than tracking listed late stays old after a new one', () => {
    const { found } = run([[action('newest-before', 'reboot', T0 + 5000)], [action('r1', 'resize', T0 + 60_000)], [action('older', 'stop', T0 + 1000, T0 + 70_000)]]);
    expect(found).toEqual(['r1']);
  });

  it('judges a server found later in a tracked project from the project\'s baseline', () => {
    const fromBaseline: Tracked = { ...FRESH, since: NOW, horizon: nova(T0) };
    const { found } = run([[action('create', 'create', T0 + 1000), action('ancient', 'create', T0 - 86_400_000)]], null, fromBaseline);
    expect(found).toEqual(['create']);
  });

  it('keeps the handled ids from a day before the horizon on, an hour before the newest start, which it moves with', () => {
    const HOUR = 60 * 60_000;
    const listings = [[action('old', 'create', T0)], ...Array.from({ length: 5 }, (_, i) => [action(`a${i}`, 'reboot', T0 + (i + 1) * 10 * HOUR)])];
    const { state, found } = run(listings);
    expect(found).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(state.horizon).toBe(nova(T0 + 50 * HOUR - SEEN_MARGIN_MS));
    expect(Object.keys(state.seen).sort()).toEqual(['a2', 'a3', 'a4']);
    expect(SEEN_KEPT_MS).toBe(24 * HOUR);
    // Listed again after they were let go, they are older than the horizon: still not new.
    expect(run([[action('a0', 'reboot', T0 + 10 * HOUR)]], null, state).found).toEqual([]);
  });

  describe('the cloud\'s clock set (cloudClockSet)', () => {
    const HOUR = 60 * 60_000;
    // Handled: a0 to a4, 5 h apart; the horizon an hour before a4, the cursor at a4.
    const tracked = () => run([[action('old', 'create', T0)], ...Array.from({ length: 5 }, (_, i) => [action(`a${i}`, 'reboot', T0 + (i + 1) * 5 * HOUR)])]).state;
    const listing = Array.from({ length: 5 }, (_, i) => action(`a${i}`, 'reboot', T0 + (i + 1) * 5 * HOUR));

    it('moves the horizon, the cursor and the handled starts back with a setting back: an action stamped after it is new, the older ones listed again are not', () => {
      const set = { ...tracked(), ...cloudClockSet(tracked(), -8 * HOUR, true) };
      expect(set.horizon).toBe(nova(T0 + 25 * HOUR - SEEN_MARGIN_MS - 8 * HOUR));
      expect(set.cursor).toBe(nova(T0 + 17 * HOUR));
      expect(set.seen['a4']).toBe(nova(T0 + 17 * HOUR));
      const { state, found } = run([[action('behind', 'reboot', T0 + 17 * HOUR + 60_000), ...listing, action('old', 'create', T0)]], null, set);
      expect(found).toEqual(['behind']);
      // The newest start, as the clock now reads, draws the line on from the moved one.
      expect(state.horizon).toBe(nova(T0 + 17 * HOUR + 60_000 - SEEN_MARGIN_MS));
    });

    it('moves only the handled starts with a setting forward: an action stamped before it and not listed yet is still new', () => {
      const set = { ...tracked(), ...cloudClockSet(tracked(), 8 * HOUR, false) };
      expect(set.horizon).toBe(tracked().horizon);
      expect(set.cursor).toBe(tracked().cursor);
      const { state, found } = run([[action('ahead', 'reboot', T0 + 33 * HOUR + 60_000), action('unlisted', 'reboot', T0 + 25 * HOUR + 1000), ...listing]], null, set);
      expect(found).toEqual(['unlisted', 'ahead']);
      expect(state.horizon).toBe(nova(T0 + 33 * HOUR + 60_000 - SEEN_MARGIN_MS));
    });

    it('leaves the server alone when set back further than the handled ids are kept: older actions would be taken for new', () => {
      const before = tracked();
      expect(cloudClockSet(before, -SEEN_KEPT_MS - 1000, true)).toEqual({ horizon: before.horizon, seen: before.seen, cursor: before.cursor });
    });

    it('keeps the line within the ids kept across settings to and fro while no listing answers, as answers by turns from two clocks 8 h apart give', () => {
      let state = tracked();
      for (let turn = 0; turn < 4; turn++) {
        state = { ...state, ...cloudClockSet(state, -8 * HOUR, true) };
        state = { ...state, ...cloudClockSet(state, 8 * HOUR, false) };
      }
      expect(state.seen).toEqual(tracked().seen);
      expect(state.horizon).toBe(nova(T0 + 25 * HOUR - SEEN_MARGIN_MS - 8 * HOUR));
      // Older than any id kept, never handled: still older than tracking.
      expect(run([[action('ancient', 'create', T0 - HOUR), ...listing]], null, state).found).toEqual([]);
    });

    it('leaves a server not listed yet alone: it has no handled ids to tell older actions by', () => {
      const fromBaseline: Tracked = { ...FRESH, horizon: nova(T0) };
      expect(cloudClockSet(fromBaseline, -8 * HOUR, true).horizon).toBe(nova(T0));
    });
  });

  it('notes a delete as the newest action, and forgets it when a newer action shows the delete failed', () => {
    const ending = run([[action('old', 'create', T0)], [action('d1', 'delete', T0 + 1000)]]).state;
    expect(ending.ending).toBe(true);
    expect(run([[action('s1', 'start', T0 + 5000)]], null, ending).state.ending).toBe(false);
  });

  it('keeps a delete noted as the newest while later listings show only older actions', () => {
    const before = [action('old', 'create', T0)];
    const { state } = run([before, [action('d1', 'delete', T0 + 60_000), ...before], [action('old', 'create', T0, T0 + 120_000)]]);
    expect(state.ending).toBe(true);
  });

  it('notes a delete as the newest in the same second as the action before it, listed first as Nova lists them', () => {
    const { state, found } = run([[action('old', 'create', T0)], [action('d1', 'delete', T0 + 5000), action('s1', 'stop', T0 + 5000)]]);
    expect(found.sort()).toEqual(['d1', 's1']);
    expect(state.ending).toBe(true);
  });

  it('keeps the newest updated_at as the cursor for changes-since', () => {
    const { state } = run([[action('old', 'create', T0, T0 + 500)], [action('x', 'reboot', T0 + 1000, T0 + 9000)], []]);
    expect(state.cursor).toBe(nova(T0 + 9000));
  });
});

// A server a project's first listing of servers found, whose own first listing of actions comes later: which
// of the actions that listing shows are new. The baseline's listing was sent at 12:00:00.4 on the cloud's
// clock (as the client reckons it); Nova's times have whole seconds, `updated` (isotime) a `Z`.
describe('baselineHorizon', () => {
  const SENT = Date.parse('2026-11-26T12:00:00.400Z');
  const MONTHS_AGO = '2026-08-01T00:00:00Z';
  const at = (time: string) => Date.parse(`2026-11-26T${time}Z`);
  it.each([
    { case: 'an action started after the baseline was sent, on a server unchanged for months', updated: MONTHS_AGO, failed: null, start: '12:00:03', isNew: true },
    { case: 'an action started in the second the baseline was sent, on a server it did not change', updated: MONTHS_AGO, failed: null, start: '12:00:00', isNew: true },
    { case: 'an action of the minute before that changed no server record (attach_volume): it cannot be told from a new one', updated: MONTHS_AGO, failed: null, start: '11:59:30', isNew: true },
    { case: 'an action started more than a minute before the baseline', updated: MONTHS_AGO, failed: null, start: '11:58:59', isNew: false },
    { case: 'an action started before the server\'s updated in the baseline, which it or a later change stamped', updated: '2026-11-26T11:59:50Z', failed: null, start: '11:59:45', isNew: false },
    { case: 'the action that last changed the server, in the second of its updated', updated: '2026-11-26T11:59:50Z', failed: null, start: '11:59:50', isNew: false },
    { case: 'an action in the second after the server\'s updated: it changed no record, or after the listing', updated: '2026-11-26T11:59:50Z', failed: null, start: '11:59:51', isNew: true },
    { case: 'the action that changed the server in the second the baseline was sent (its newest updated)', updated: '2026-11-26T12:00:00Z', failed: null, start: '12:00:00', isNew: false },
    { case: 'an action in the second after the baseline, on the server changed in its second', updated: '2026-11-26T12:00:00Z', failed: null, start: '12:00:01', isNew: true },
    // A listing of many pages reads the last ones seconds after the first was sent.
    { case: 'the action that changed the server after the baseline was sent, before the page that showed it was read', updated: '2026-11-26T12:00:20Z', failed: null, start: '12:00:15', isNew: true },
    { case: 'an action in the minute before, on a server whose updated cannot be read', updated: null, failed: null, start: '11:59:30', isNew: true },
    { case: 'an action started more than a minute before, on a server whose updated cannot be read', updated: null, failed: null, start: '11:58:59', isNew: false },
    // The listing failed at 10:00:00.4, two hours before the one that answered; the server's updated is of
    // the outage.
    { case: 'after a failed listing, the outage\'s action that stamped the server\'s updated', updated: '2026-11-26T11:30:00Z', failed: '2026-11-26T10:00:00.400000', start: '11:30:00', isNew: true },
    { case: 'after a failed listing, an action in the minute before it', updated: '2026-11-26T11:30:00Z', failed: '2026-11-26T10:00:00.400000', start: '09:59:30', isNew: true },
    { case: 'after a failed listing, an action more than a minute before it', updated: '2026-11-26T11:30:00Z', failed: '2026-11-26T10:00:00.400000', start: '09:58:59', isNew: false },
  ])('$case: new $isNew', ({ updated, failed, start, isNew }) => {
    const listed = [action('a', 'reboot', at(start)), action('old', 'create', at('09:00:00'))];
    const first = run([listed], null, { ...FRESH, horizon: baselineHorizon({ sentAt: SENT, updated, failedAt: failed }) });
    expect(first.found).toEqual(isNew ? ['a'] : []);
    // An action the server's first listing did not show, begun in the second of the newest it did or of the
    // baseline: it started after that listing, and is new, also within the second of the server's `updated`.
    const after = action('after', 'stop', Math.max(at(start), at('12:00:00')));
    expect(run([[after, ...listed]], null, first.state).found).toEqual(['after']);
  });
});
