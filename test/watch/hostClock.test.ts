import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CloudClock } from '../../src/cloud/cloudClock.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { HostClock } from '../../src/watch/hostClock.ts';
import { StateStore } from '../../src/state/store.ts';
import type { ClockRecord } from '../../src/state/types.ts';
import { instanceActionKind } from '../../src/watch/kinds/instanceAction.ts';
import { eventually } from '../eventually.ts';

afterEach(() => {
  vi.useRealTimers();
});

const MINUTE = 60_000;

/**
 * A HostClock on fake clocks: this host's (Date), the monotonic one, the boot clock (the monotonic one
 * and `slept`) and the cloud's (this host's and `cloudAhead`), whose answers `answer()` brings.
 */
function hostClock(start: { saved?: ClockRecord | null; bootId?: string | null; world?: { slept: number; cloudAhead: number }; level?: pino.Level } = {}) {
  if (start.saved === undefined) vi.useFakeTimers({ toFake: ['Date', 'performance'], now: new Date('2026-12-02T10:00:00.000Z') });
  const lines: string[] = [];
  const log = pino({ level: start.level ?? 'warn' }, new Writable({ write: (chunk: Buffer, _e, done) => done(void lines.push(JSON.parse(chunk.toString()).msg as string)) }));
  const cloud = new CloudClock(log, 'https://cloud.example');
  const moves: number[] = [];
  /** The clock records the state was given, the last one kept. */
  const records: ClockRecord[] = [];
  const world = start.world ?? { slept: 0, cloudAhead: 0 };
  const metrics = createMetrics();
  const store = {
    moveTimes: (ms: number) => void moves.push(ms),
    records: () => new Map<string, never>().entries(),
    save: () => Promise.resolve(),
    clock: start.saved ?? null,
    setClock: (record: ClockRecord) => void records.push(record),
  };
  const clock = new HostClock({ cloud, store, logger: log, metrics, onMoved: () => undefined, onCloudSet: () => undefined, onHeldStill: () => undefined, bootClock: () => performance.now() + world.slept, bootId: start.bootId ?? null });
  /** host_clock_steps_total by kind. */
  const counted = async () => {
    const text = await metrics.registry.getSingleMetricAsString('ecs_action_watch_host_clock_steps_total');
    return Object.fromEntries([...text.matchAll(/kind="(\w+)"\} (\d+)/g)].map((m) => [m[1], Number(m[2])]));
  };
  const answer = () => cloud.observe(new Date(Date.now() + world.cloudAhead).toUTCString(), Date.now());
  /** This host's clock set by `ms`, the cloud's not. */
  const set = (ms: number) => {
    vi.setSystemTime(Date.now() + ms);
    world.cloudAhead -= ms;
  };
  return { clock, cloud, moves, records, world, answer, set, counted, lines: async () => (await new Promise((r) => setImmediate(r)), lines) };
}

describe('HostClock', () => {
  it('judges a step by the boot clock alone while the cloud has never answered', async () => {
    const { clock, moves, set, lines, counted } = hostClock();
    set(30 * MINUTE);
    expect(clock.look()).toMatchObject({ setMs: 30 * MINUTE });
    expect(moves).toEqual([30 * MINUTE]);
    expect(await counted()).toEqual({ set: 1, passed: 0 });
    expect(await lines()).toEqual([expect.stringMatching(/^this host's clock was set forward 30 min:/)]);
  });

  it('says a sleep and a setting in one step apart, moving the times by the setting only', async () => {
    const { clock, moves, world, set, lines } = hostClock();
    world.slept += 60 * MINUTE;
    vi.setSystemTime(Date.now() + 60 * MINUTE);
    set(-90 * MINUTE);
    expect(clock.look()).toEqual({ movedMs: -30 * MINUTE, sleptMs: 60 * MINUTE, setMs: -90 * MINUTE });
    expect(moves).toEqual([-90 * MINUTE]);
    expect(await lines()).toEqual([
      "this host's clock moved back 30 min: 1 h of time that passed (the machine slept, or was held still as a paused VM is), and the clock set back 1 h 30 min; the poll schedule starts again from the new time; deadlines, early warnings, batch windows and delivery.maxAge count the 1 h as time passed, and the times the state keeps moved with the setting",
    ]);
  });

  it('takes the cloud\'s word at once when an answer came between the step and the look: a machine held still moves nothing', async () => {
    const { clock, moves, answer, lines, counted } = hostClock();
    answer();
    expect(clock.look()).toBeNull();
    // Held still 30 min: this host's clock put right after, the boot clock stopped, the cloud's went on.
    vi.setSystemTime(Date.now() + 30 * MINUTE);
    vi.advanceTimersByTime(1);
    answer();
    expect(clock.look()).toMatchObject({ movedMs: 30 * MINUTE, setMs: 0, sleptMs: 30 * MINUTE });
    expect(moves).toEqual([]);
    expect(await counted()).toEqual({ set: 0, passed: 1 });
    expect(await lines()).toEqual([expect.stringMatching(/^this host's clock jumped forward 30 min with the time that passed/)]);
  });

  it('moves by what the cloud says two steps before its next answer came to, in all', async () => {
    const { clock, moves, answer, set, lines, counted } = hostClock();
    answer();
    expect(clock.look()).toBeNull();
    set(10 * MINUTE);
    clock.look();
    vi.advanceTimersByTime(1000);
    // Held still 20 min after it: the boot clock takes it for a setting too.
    vi.setSystemTime(Date.now() + 20 * MINUTE);
    clock.look();
    expect(moves).toEqual([10 * MINUTE, 20 * MINUTE]);
    // Counted once judged: not the boot clock's 30 min of setting.
    expect(await counted()).toEqual({ set: 0, passed: 0 });
    answer();
    expect(clock.look()).toBeNull();
    expect(moves).toEqual([10 * MINUTE, 20 * MINUTE, -20 * MINUTE]);
    expect(await counted()).toEqual({ set: 1, passed: 1 });
    expect((await lines()).at(-1)).toBe(
      "the cloud's clock, by the Date of its first answer since this host's clock stepped, says it was set forward 10 min, where this machine's boot clock said set forward 30 min: the times the state keeps are moved by 20 min back to match",
    );
  });

  it('confirms the boot clock without a word when the cloud agrees to a second or two, and says the clocks are apart', async () => {
    const { clock, cloud, moves, answer, set, lines } = hostClock();
    answer();
    clock.look();
    set(-30 * MINUTE);
    clock.look();
    // Until the cloud answers, its measure is moved by the setting, quietly.
    expect(cloud.aheadMs).toBe(30 * MINUTE + 500);
    // An answer 0.7 s into a second: its Date, in whole seconds, measures 0.7 s off, no cause to move the times again.
    vi.advanceTimersByTime(700);
    answer();
    clock.look();
    expect(moves).toEqual([-30 * MINUTE]);
    expect(await lines()).toEqual([expect.stringMatching(/^this host's clock was set back 30 min:/), expect.stringMatching(/^the cloud's clock is 30 min( \d+ s)? ahead of this host's/)]);
  });

  it("says once that the cloud's answers come from two clocks 31 s apart (controllers behind a load balancer), not at every answer that changes controller that the cloud's clock was set", async () => {
    const { clock, answer, world, lines } = hostClock();
    const controllers = [0, 31_000];
    // An hour of answers, a measure a minute, from either controller as the load balancer picks it.
    for (let minute = 0; minute < 60; minute++) {
      world.cloudAhead = controllers[[0, 1, 1, 0, 1, 0, 0, 1][minute % 8]!]!;
      vi.advanceTimersByTime(MINUTE);
      answer();
      clock.look();
    }
    // The first move cannot be told from a setting, nor the clocks apart at the first answer from the other.
    expect(await lines()).toEqual([
      expect.stringMatching(/^the cloud's clock is 31(\.5)? s ahead of this host's/),
      "the cloud's clock was set forward 31 s (the Date of its answers), this host's keeping time, or this machine was held still 31 s (as a paused VM is) and its clock not put right: the times the state keeps stay as they are, and the early warning of an action that started before counts from its start on the cloud's clock as it stood then",
      expect.stringMatching(/^the cloud's answers come from 2 clocks up to 31 s apart by turns /),
    ]);
  });

  it("says once that the cloud's answers come from three clocks by turns (an OpenStack HA control plane), not a setting at each answer from another", async () => {
    const { clock, answer, world, lines } = hostClock();
    const controllers = [0, 35_000, 70_000];
    for (let minute = 0; minute < 60; minute++) {
      world.cloudAhead = controllers[[0, 1, 2, 0, 2, 1, 1, 0, 2][minute % 9]!]!;
      vi.advanceTimersByTime(MINUTE);
      answer();
      clock.look();
    }
    // A move to a clock not seen before reads as a setting, until the measure comes back to one it left.
    expect(await lines()).toEqual([
      expect.stringMatching(/^the cloud's clock is 35(\.5)? s ahead of this host's/),
      expect.stringMatching(/^the cloud's clock was set forward 35 s /),
      expect.stringMatching(/^the cloud's clock was set forward 35 s /),
      expect.stringMatching(/^the cloud's answers come from 3 clocks up to 1 min 10 s apart by turns /),
    ]);
  });

  it.each([
    { answer: 'none before the look', before: 0 },
    { answer: 'one before the look, within the minute of the last measure', before: 1000 },
    { answer: 'one before the look, taken as a measure', before: MINUTE },
  ])("agrees with the cloud at once when this host's clock, 40 s behind it, is set right (an NTP step): $answer", async ({ before }) => {
    const { clock, cloud, answer, world, set, lines } = hostClock({ level: 'info' });
    world.cloudAhead = 40_000;
    answer();
    clock.look();
    vi.advanceTimersByTime(MINUTE);
    answer();
    clock.look();
    vi.advanceTimersByTime(10_000);
    set(40_000);
    vi.advanceTimersByTime(before);
    if (before !== 0) answer();
    expect(clock.look()).toMatchObject({ setMs: 40_000 });
    expect(cloud.aheadMs).toBe(0);
    vi.advanceTimersByTime(1000);
    answer();
    clock.look();
    expect(cloud.aheadMs).toBe(0);
    const agree = "the cloud's clock and this host's agree again";
    const step = expect.stringMatching(/^this host's clock was set forward 40 s:/);
    // An answer since, the step is judged by it, and the clocks agree, before the step is said.
    expect(await lines()).toEqual([expect.stringMatching(/^the cloud's clock is 40\.5 s ahead of this host's/), ...(before === 0 ? [step, agree] : [agree, step])]);
  });

  it('saves the moved times at once, not at the end of the pass: a restart would not know of the step', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: new Date('2026-12-02T10:00:00.000Z') });
    const path = join(await mkdtemp(join(tmpdir(), 'eaw-hostclock-')), 'state.json');
    const store = await StateStore.open(path);
    const target = { projectId: 'p', serverId: 's', requestId: 'r', deadlineMs: 600_000 };
    store.set('p/s/r', instanceActionKind.newRecord(target, new Date().toISOString()));
    await store.save();
    const log = pino({ level: 'silent' });
    const clock = new HostClock({ cloud: new CloudClock(log, 'https://cloud.example'), store, logger: log, metrics: createMetrics(), onMoved: () => undefined, onCloudSet: () => undefined, onHeldStill: () => undefined, bootClock: () => performance.now() });
    vi.setSystemTime(Date.now() + 30 * MINUTE);
    clock.look();
    await eventually(async () => expect(await readFile(`${path}.journal`, 'utf8')).toContain('"trackingSince":"2026-12-02T10:30:00.000Z"'));
    await store.close();
  });

  it('moves the times by what the clock was set in all, whatever sleeps, pauses, answers and restarts come between (property)', async () => {
    type Event = { kind: 'set' | 'sleep' | 'hold' | 'pass'; ms: number } | { kind: 'answer' } | { kind: 'restart'; boot: 'same' | 'new'; passMs: number; setMs: number };
    const step = fc.integer({ min: 30_000, max: 3 * 3_600_000 });
    const event: fc.Arbitrary<Event> = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), ms: fc.oneof(step, step.map((ms) => -ms)) }),
      fc.record({ kind: fc.constantFrom('sleep' as const, 'hold' as const), ms: step }),
      fc.record({ kind: fc.constant('pass' as const), ms: fc.integer({ min: 1, max: 120_000 }) }),
      fc.constant({ kind: 'answer' as const }),
      fc.record({
        kind: fc.constant('restart' as const),
        boot: fc.constantFrom('same' as const, 'new' as const),
        passMs: fc.integer({ min: 0, max: 3 * 3_600_000 }),
        setMs: fc.oneof(fc.constant(0), step, step.map((ms) => -ms)),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 12 }), async (events) => {
        let boots = 1;
        let daemon = hostClock({ bootId: 'b1' });
        const { world, set } = daemon;
        const moves = [daemon.moves];
        /** The clock record the state holds: the last one any of the daemons gave it. */
        let saved: ClockRecord | null = null;
        daemon.answer();
        daemon.clock.look();
        let setInAll = 0;
        for (const e of events) {
          if (e.kind === 'restart') {
            // Started again from the clock record its state kept, as a new process: its own cloud clock, no measure yet.
            if (e.boot === 'new') boots++;
            saved = daemon.records.at(-1) ?? saved;
            // Stopped a while, the clock maybe set meanwhile.
            vi.advanceTimersByTime(e.passMs);
            set(e.setMs);
            setInAll += e.setMs;
            daemon = hostClock({ saved, bootId: `b${boots}`, world });
            moves.push(daemon.moves);
          } else if (e.kind === 'set') {
            set(e.ms);
            setInAll += e.ms;
          } else if (e.kind === 'sleep' || e.kind === 'hold') {
            // A sleep stops the monotonic clock, a hold (a paused VM) the boot clock too; the cloud's goes on.
            if (e.kind === 'sleep') world.slept += e.ms;
            vi.setSystemTime(Date.now() + e.ms);
          } else if (e.kind === 'pass') {
            vi.advanceTimersByTime(e.ms);
          } else {
            daemon.answer();
          }
          daemon.clock.look();
        }
        vi.advanceTimersByTime(1000);
        daemon.answer();
        daemon.clock.look();
        // Each measure of the cloud's clock is good to half a second either way (the Date's whole seconds).
        expect(Math.abs(moves.flat().reduce((a, b) => a + b, 0) - setInAll)).toBeLessThanOrEqual(1000 * (events.length + 1));
        vi.useRealTimers();
      }),
      { numRuns: 300 },
    );
  });
});

describe('HostClock across a restart of the daemon', () => {
  /** A daemon that ran on boot `bootId` and measured the cloud's clock: the clock record its state kept when it stopped. */
  function ranAndStopped(bootId: string) {
    const first = hostClock({ bootId });
    first.answer();
    first.clock.look();
    return { saved: first.records.at(-1)!, world: first.world, set: first.set };
  }

  it('takes a clock set while it was stopped at once by the boot clock within the same boot, and the cloud bears it out', async () => {
    const { saved, world, set } = ranAndStopped('b1');
    vi.advanceTimersByTime(MINUTE);
    set(30 * MINUTE);
    const again = hostClock({ saved, bootId: 'b1', world });
    expect(again.moves).toEqual([30 * MINUTE]);
    // The boot clock has judged the time stopped: the outbox may count ages.
    expect(again.clock.judged).toBe(true);
    expect(again.clock.surelyPassedSince(Date.now())).toBe(-Infinity);
    again.answer();
    again.clock.look();
    expect(again.moves).toEqual([30 * MINUTE]);
    expect(await again.counted()).toEqual({ set: 1, passed: 0 });
    expect(await again.lines()).toEqual([
      expect.stringMatching(/^while the daemon was stopped, this host's clock was set forward 30 min \(its boot clock says so\)/),
      expect.stringMatching(/^the cloud's clock is 30 min( \d+ s)? behind this host's/),
    ]);
  });

  it('moves the times back when the cloud\'s clock says the time passed (the machine held still), where the boot clock said set', async () => {
    const { saved, world } = ranAndStopped('b1');
    // Held still 30 min while stopped: the boot clock stopped, the cloud's went on, this host's was put right.
    vi.setSystemTime(Date.now() + 30 * MINUTE);
    const again = hostClock({ saved, bootId: 'b1', world });
    again.answer();
    again.clock.look();
    expect(again.moves).toEqual([30 * MINUTE, -30 * MINUTE]);
    expect(await again.counted()).toEqual({ set: 0, passed: 0 });
    expect((await again.lines()).at(-1)).toBe(
      "the cloud's clock, by the Date of its first answer since the start, says the time was passing (the machine held still, as a paused VM is), not a setting of the clock, where this machine's boot clock said set forward 30 min: the times the state keeps are moved by 30 min back to match",
    );
  });

  it("tells the cloud's clock set while it was stopped within the same boot, this host's keeping time: nothing moves, and the log says so", async () => {
    const first = hostClock({ bootId: 'b1' });
    first.answer();
    first.clock.look();
    // A step of this host's clock that the cloud then bears out: the record no longer waits for its word.
    first.set(30 * MINUTE);
    first.clock.look();
    expect(first.records.at(-1)).toMatchObject({ unjudgedSetMs: 30 * MINUTE });
    vi.advanceTimersByTime(1000);
    first.answer();
    first.clock.look();
    expect(first.records.at(-1)).not.toHaveProperty('unjudgedSetMs');
    vi.advanceTimersByTime(MINUTE);
    first.world.cloudAhead += 10 * MINUTE;
    const again = hostClock({ saved: first.records.at(-1)!, bootId: 'b1', world: first.world });
    again.answer();
    again.clock.look();
    expect(again.moves).toEqual([]);
    expect(await again.counted()).toEqual({ set: 0, passed: 0 });
    expect((await again.lines()).at(-1)).toMatch(/^the cloud's clock was set forward 10 min while the daemon was stopped \(the Date of its first answer since the start, against its last before the stop\), this host's keeping time by its boot clock, or this machine was held still 10 min \(as a paused VM is\) and its clock not put right: /);
  });

  it('judges by the cloud\'s clock alone after a boot (or on another host), and leaves a second or two alone', async () => {
    const { saved, world, set } = ranAndStopped('b1');
    set(1500);
    const drifted = hostClock({ saved, bootId: 'b2', world });
    drifted.answer();
    drifted.clock.look();
    expect(drifted.moves).toEqual([]);
    expect(await drifted.lines()).toEqual([]);
    set(-20 * MINUTE + 8500);
    const again = hostClock({ saved, bootId: 'b2', world });
    expect(again.moves).toEqual([]);
    expect(again.clock.judged).toBe(false);
    again.answer();
    again.clock.look();
    expect(again.clock.judged).toBe(true);
    expect(again.moves).toEqual([-20 * MINUTE + 10_000]);
    expect(await again.counted()).toEqual({ set: 1, passed: 0 });
    expect((await again.lines()).at(-1)).toMatch(/^this host's clock was set back 19 min 50 s while the daemon was stopped, or the state was kept on another host's clock 19 min 50 s ahead of this one's: the cloud's clock says so \(the Date of its first answer since the start, against its last before the stop; or it was itself set forward 19 min 50 s meanwhile, which this host cannot tell apart\)/);
  });

  it('holds only the time since the start, by the boot clock, as surely passed until the cloud judges a start after a boot', () => {
    const { saved, world, set } = ranAndStopped('b1');
    set(24 * 60 * MINUTE);
    const again = hostClock({ saved, bootId: 'b2', world });
    const start = Date.now();
    expect(again.clock.surelyPassedSince(Date.now())).toBe(start);
    // A sleep is time passed; a setting while running moves the start as it moves the times the state keeps.
    vi.advanceTimersByTime(MINUTE);
    world.slept += 60 * MINUTE;
    vi.setSystemTime(Date.now() + 60 * MINUTE);
    set(-30 * MINUTE);
    again.clock.look();
    expect(again.clock.surelyPassedSince(Date.now())).toBe(Date.now() - 61 * MINUTE);
    again.answer();
    again.clock.look();
    expect(again.clock.judged).toBe(true);
    expect(again.clock.surelyPassedSince(Date.now())).toBe(-Infinity);
  });

  it('goes on from a start the cloud has not judged yet when made again in the same boot (a restart, or a reload that makes the parts again)', () => {
    const { saved, world, set } = ranAndStopped('b1');
    set(24 * 60 * MINUTE);
    const again = hostClock({ saved, bootId: 'b2', world });
    const start = Date.now();
    vi.advanceTimersByTime(5 * MINUTE);
    const third = hostClock({ saved: again.records.at(-1)!, bootId: 'b2', world });
    expect(third.clock.judged).toBe(false);
    expect(third.clock.surelyPassedSince(Date.now())).toBe(start);
    // Judged by the cloud, the record says so: the next start in this boot counts ages as they are.
    third.answer();
    third.clock.look();
    expect(third.records.at(-1)).not.toHaveProperty('unjudgedStart');
    expect(hostClock({ saved: third.records.at(-1)!, bootId: 'b2', world }).clock.judged).toBe(true);
  });

  it('takes no measure of another cloud for this one\'s', () => {
    const { saved, world, set } = ranAndStopped('b1');
    set(30 * MINUTE);
    const again = hostClock({ saved: { ...saved, cloud: { name: 'https://other.example', aheadMs: 0 } }, bootId: 'b2', world });
    again.answer();
    again.clock.look();
    expect(again.moves).toEqual([]);
  });

  it('records the clock at start, at the first measure, and then only when the cloud\'s clock drifts 5 s off it', () => {
    const { clock, records, answer, world } = hostClock({ bootId: 'b1' });
    expect(records).toEqual([{ at: '2026-12-02T10:00:00.000Z', boot: { id: 'b1', ms: 0 }, cloud: null }]);
    answer();
    clock.look();
    expect(records.at(-1)).toMatchObject({ cloud: { name: 'https://cloud.example', aheadMs: 500 } });
    for (const ahead of [2000, 4000]) {
      world.cloudAhead = ahead;
      vi.advanceTimersByTime(MINUTE);
      answer();
      clock.look();
    }
    expect(records).toHaveLength(2);
    world.cloudAhead = 6000;
    vi.advanceTimersByTime(MINUTE);
    answer();
    clock.look();
    expect(records).toHaveLength(3);
    expect(records.at(-1)).toMatchObject({ at: '2026-12-02T10:03:00.000Z', cloud: { aheadMs: 6500 } });
  });
});
