// What is said of polls that fail, without servers: the log's lines by level, and the counter by kind.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ApiError, type ApiErrorKind } from '../../src/cloud/ApiError.ts';
import { CredentialError } from '../../src/cloud/auth/CredentialError.ts';
import type { WatchRecord } from '../../src/state/types.ts';
import { PollFailures, type PollErrorKind } from '../../src/watch/pollFailures.ts';

function setUp(closed = new AbortController().signal) {
  const lines: Array<{ level: number; msg: string; error?: string; failingSince?: string | null }> = [];
  const counted: PollErrorKind[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) });
  // Polled on a schedule, as by the daemon, until a test sets it off (`check`'s one pass).
  const schedule = { on: true };
  const clock = { now: Date.parse('2026-12-03T09:00:00.000Z') };
  const failures = new PollFailures({ inc: ({ kind }) => counted.push(kind) }, closed, () => schedule.on, () => clock.now);
  return { lines, counted, log, failures, schedule, clock };
}

const apiError = (kind: ApiErrorKind, status?: number) => new ApiError({ kind, method: 'GET', url: 'https://ecs.test/v2.1/p/servers/s/os-instance-actions/r', status });
/** Records are told apart by identity alone. */
const newRecord = () => ({}) as WatchRecord;
const said = (lines: ReturnType<typeof setUp>['lines']) => lines.map((l) => [l.level, l.msg]);

describe('PollFailures', () => {
  it('warns when a watch\'s failures begin and when their kind changes, says the repeats at debug, and counts each', () => {
    const { lines, counted, log, failures } = setUp();
    const record = newRecord();
    expect(failures.failed(record, log, apiError('server', 503))).toMatch(/→ 503$/);
    failures.failed(record, log, apiError('server', 503));
    failures.failed(record, log, apiError('network'));
    failures.failed(record, log, apiError('network'));
    expect(said(lines)).toEqual([
      [40, 'poll failed; trying again on the next schedule'],
      [20, 'poll failed again'],
      [40, 'poll failed; trying again on the next schedule'],
      [20, 'poll failed again'],
    ]);
    expect(lines.every((l) => l.error?.startsWith('GET https://ecs.test/'))).toBe(true);
    expect(counted).toEqual(['server', 'server', 'network', 'network']);
    expect(failures.causeOf(record)).toBe('network');
  });

  it('keeps apart the failures of what each poll is about: watches, and the servers and projects auto-tracking lists', () => {
    const { lines, log, failures, clock } = setUp();
    const [a, b, trackedServer] = [newRecord(), newRecord(), { serverId: 's-1', lastError: null }];
    for (const about of [a, b, trackedServer]) failures.failed(about, log, apiError('timeout'));
    clock.now += 60_000;
    for (const about of [a, b, trackedServer]) failures.failed(about, log, apiError('network'));
    failures.failed(trackedServer, log, apiError('network'));
    expect(lines.map((l) => l.level)).toEqual([40, 40, 40, 40, 40, 40, 20]);
    failures.answered(trackedServer, log);
    failures.answered(trackedServer, log);
    // The end of the tracked server's failure, with when it began (not when its kind changed); then a new run.
    clock.now += 60_000;
    failures.failed(trackedServer, log, apiError('timeout'));
    failures.answered(trackedServer, log);
    expect(lines.slice(7).map((l) => [l.level, l.msg, l.failingSince])).toEqual([
      [30, 'poll answered again', '2026-12-03T09:00:00.000Z'],
      [40, 'poll failed; trying again on the next schedule', undefined],
      [30, 'poll answered again', '2026-12-03T09:02:00.000Z'],
    ]);
  });

  it('says at info, with failingSince, when a watch whose failure it told of is answered again, and then warns of its next failure', () => {
    const { lines, log, failures } = setUp();
    const record = newRecord();
    failures.failed(record, log, apiError('server', 500));
    failures.ended(record, { log }, { final: false, reason: 'r', pollFailed: true, readError: 'GET ... → 500' }, null);
    expect(failures.failingHere(record)).toBe(true);
    failures.ended(record, { log }, { final: false, reason: 'r', pollFailed: false, readError: null }, '2026-12-03T08:00:00.000Z');
    failures.ended(record, { log }, { final: false, reason: 'r', pollFailed: false, readError: null }, null);
    expect(failures.failingHere(record)).toBe(false);
    failures.failed(record, log, apiError('server', 500));
    expect(lines.map((l) => [l.level, l.msg, l.failingSince])).toEqual([
      [40, 'poll failed; trying again on the next schedule', undefined],
      [30, 'poll answered again', '2026-12-03T08:00:00.000Z'],
      [40, 'poll failed; trying again on the next schedule', undefined],
    ]);
  });

  it('keeps when the run of failed polls here began, not when its last poll failed: the deadline\'s patience counts from it', () => {
    const { log, failures, clock } = setUp();
    const record = newRecord();
    const begun = clock.now;
    const failedPoll = { final: false, reason: 'r', pollFailed: true, readError: 'GET ... → 503' } as const;
    failures.ended(record, { log }, failedPoll, null);
    clock.now += 60_000;
    failures.ended(record, { log }, failedPoll, new Date(begun).toISOString());
    clock.now += 60_000;
    failures.ended(record, { log }, failedPoll, new Date(begun).toISOString());
    expect(failures.failingHereSince(record)).toBe(begun);
    failures.ended(record, { log }, { final: false, reason: 'r', pollFailed: false, readError: null }, new Date(begun).toISOString());
    expect(failures.failingHereSince(record)).toBeNull();
    failures.ended(record, { log }, failedPoll, null);
    expect(failures.failingHereSince(record)).toBe(clock.now);
  });

  it('says nothing of a next schedule for a pass that is not on one (`check`)', () => {
    const { lines, log, failures, schedule } = setUp();
    schedule.on = false;
    failures.failed(newRecord(), log, apiError('forbidden', 403));
    failures.failed(newRecord(), log, apiError('server', 503));
    expect(said(lines)).toEqual([
      [40, "poll failed (check cloud.auth and the account's permissions)"],
      [40, 'poll failed'],
    ]);
  });

  it('tells no end while a read of the poll went unanswered, though the poll did not fail for it', () => {
    const { lines, log, failures } = setUp();
    const record = newRecord();
    failures.failed(record, log, apiError('forbidden', 403));
    failures.ended(record, { log }, { final: false, reason: 'r', pollFailed: false, readError: 'GET ... → 403' }, null);
    failures.failed(record, log, apiError('forbidden', 403));
    expect(said(lines)).toEqual([
      [40, "poll failed (check cloud.auth and the account's permissions); trying again on the next schedule"],
      [20, "poll failed again (check cloud.auth and the account's permissions)"],
    ]);
  });

  it('makes no logger for a poll with nothing to say: the poll\'s is a pino child, made at its first use', () => {
    const { log, failures } = setUp();
    let made = 0;
    const poll = { get log() { made += 1; return log; } };
    const record = newRecord();
    for (let i = 0; i < 3; i++) failures.ended(record, poll, { final: false, reason: 'r', pollFailed: false, readError: null }, null);
    failures.ended(record, poll, { final: false, reason: 'r', pollFailed: true, readError: 'GET ... → 500' }, null);
    failures.ended(record, poll, { final: false, reason: 'r', pollFailed: false, readError: null }, null);
    expect(made).toBe(0);
    failures.failed(record, log, apiError('server', 500));
    failures.ended(record, poll, { final: false, reason: 'r', pollFailed: false, readError: null }, '2026-12-03T08:00:00.000Z');
    expect(made).toBe(1);
  });

  it('tells the end of each failure, however many fail at once and in whatever order they are answered', () => {
    const { lines, log, failures } = setUp();
    const [a, b, c] = [newRecord(), newRecord(), newRecord()];
    const fail = (record: WatchRecord) => {
      failures.failed(record, log, apiError('server', 500));
      failures.ended(record, { log }, { final: false, reason: 'r', pollFailed: true, readError: 'GET ... → 500' }, null);
    };
    const answer = (record: WatchRecord) => failures.ended(record, { log }, { final: false, reason: 'r', pollFailed: false, readError: null }, '2026-12-03T08:00:00.000Z');
    for (const record of [a, b, a, c]) fail(record);
    for (const record of [b, b, c, a, a]) answer(record);
    fail(c);
    answer(a);
    answer(c);
    expect(said(lines).filter(([level]) => level !== 20)).toEqual([
      ...Array.from({ length: 3 }, () => [40, 'poll failed; trying again on the next schedule']),
      ...Array.from({ length: 3 }, () => [30, 'poll answered again']),
      [40, 'poll failed; trying again on the next schedule'],
      [30, 'poll answered again'],
    ]);
    expect([a, b, c].map((record) => failures.failingHere(record))).toEqual([false, false, false]);
  });

  it('counts a poll that failed without a read\'s error (a server UNKNOWN) as other, and one nothing failed as failing nowhere', () => {
    const { log, failures } = setUp();
    const record = newRecord();
    failures.ended(record, { log }, { final: false, reason: 'r', pollFailed: true, readError: null }, null);
    expect(failures.causeOf(record)).toBe('other');
    expect(failures.failingHere(newRecord())).toBe(false);
  });

  it('warns once when polls begin to fail with every read answered (a server UNKNOWN), and says when they are answered again', () => {
    const { lines, log, failures, schedule } = setUp();
    const [record, warned] = [newRecord(), newRecord()];
    const unknown = { final: false, reason: 'reboot: server status UNKNOWN (its cell is unreachable)', pollFailed: true, readError: null };
    failures.ended(record, { log }, unknown, null);
    failures.ended(record, { log }, unknown, null);
    failures.ended(record, { log }, { final: false, reason: 'reboot: events finished', pollFailed: false, readError: null }, '2026-12-03T08:00:00.000Z');
    // A poll with words of its own (a server that answers 404 under an action that is no delete): said in
    // them, once a run.
    const gone = { ...unknown, reason: 'reboot: events finished but the server answers 404 (1 time)', warning: 'the server answers 404 although the action is not a delete' };
    failures.ended(warned, { log }, gone, null);
    failures.ended(warned, { log }, { ...gone, reason: 'reboot: events finished but the server answers 404 (2 times)' }, null);
    // `check`'s one pass.
    schedule.on = false;
    failures.ended(newRecord(), { log }, unknown, null);
    expect(lines.map((l) => [l.level, l.msg, (l as { reason?: string }).reason])).toEqual([
      [40, 'poll failed; trying again on the next schedule', unknown.reason],
      [30, 'poll answered again', undefined],
      [40, 'the server answers 404 although the action is not a delete', gone.reason],
      [40, 'poll failed', unknown.reason],
    ]);
  });

  it('warns of such a run right after one of failed reads, but not of a poll that ended the watch (a timeout)', () => {
    const { lines, log, failures } = setUp();
    const [record, ended] = [newRecord(), newRecord()];
    const unknown = { final: false, reason: 'reboot: server status UNKNOWN (its cell is unreachable)', pollFailed: true, readError: null };
    failures.failed(record, log, apiError('server', 503));
    failures.ended(record, { log }, { ...unknown, readError: 'GET ... → 503' }, null);
    failures.ended(record, { log }, unknown, null);
    expect(failures.causeOf(record)).toBe('other');
    failures.ended(ended, { log }, { ...unknown, final: true, reason: 'not finished 1 h after tracking began' }, null);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [40, 'poll failed; trying again on the next schedule'],
      [40, 'poll failed; trying again on the next schedule'],
    ]);
  });

  it('names what to check: cloud.auth for a refusal by the API, what is in front of it for a gateway\'s page, the endpoint for a 404 not the API\'s', () => {
    const { lines, counted, log, failures } = setUp();
    failures.failed(newRecord(), log, apiError('unauthorized', 401));
    failures.failed(newRecord(), log, new CredentialError('cannot read cloud.auth.tokenFile /run/secrets/token: it does not exist'));
    failures.failed(newRecord(), log, apiError('gateway', 403));
    failures.failed(newRecord(), log, apiError('foreign_not_found', 404));
    failures.failed(newRecord(), log, new Error('a bug'));
    expect(lines.map((l) => l.msg)).toEqual([
      'poll failed (check cloud.auth); trying again on the next schedule',
      'poll failed; trying again on the next schedule',
      expect.stringMatching(/^poll failed \(not the API's answer: check with whoever runs the firewall, gateway or proxy/),
      expect.stringMatching(/^poll failed \(a 404 that is not the API's own "not found": check cloud\.endpoint and the project id, or cloud\.auth\.identityEndpoint if it is for the token request\)/),
      'poll failed; trying again on the next schedule',
    ]);
    expect(lines[1]?.error).toContain('tokenFile');
    expect(counted).toEqual(['unauthorized', 'unauthorized', 'gateway', 'foreign_not_found', 'other']);
  });

  it('says of the gateway refusing this host\'s address (APIGW.0402, its IP access control) to mend its allow or block list, not cloud.auth', () => {
    const { lines, counted, log, failures } = setUp();
    const refused = new ApiError({ kind: 'forbidden', method: 'GET', url: 'https://ecs.test/v2.1/p/servers/s', status: 403, apiCode: 'APIGW.0402', apiMessage: 'The IP address is not authorized to access the API' });
    failures.failed(newRecord(), log, refused);
    expect(lines.map((l) => l.msg)).toEqual([
      "poll failed (the API gateway's access control refuses this host's address: its IP allow or block list is what to mend, not cloud.auth); trying again on the next schedule",
    ]);
    expect(counted).toEqual(['forbidden']);
  });

  it('says and counts nothing of a read the engine\'s close cut short, and still gives its message', () => {
    const closing = new AbortController();
    const { lines, counted, log, failures } = setUp(closing.signal);
    closing.abort();
    expect(failures.failed(newRecord(), log, new Error('This operation was aborted'))).toBe('This operation was aborted');
    expect(lines).toEqual([]);
    expect(counted).toEqual([]);
  });
});
