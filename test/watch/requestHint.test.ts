import { describe, expect, it } from 'vitest';
import type { InstanceActionSummary } from '../../src/model.ts';
import { jobIdHint, requestHint, serverIdHint } from '../../src/watch/requestHint.ts';

const WATCHED = 'req-3f1c9a2e-7b4d-4e0a-9c1f-2d8e6b5a934f';
const action = (name: string, id: string, start: string | null = '2026-11-26T10:00:00.000000'): InstanceActionSummary => ({ action: name, request_id: id, start_time: start });
const others = [
  action('reboot', 'req-0a1b2c3d-0000-4000-8000-000000000001', '2026-11-26T10:05:00.000000'),
  action('stop', 'req-0a1b2c3d-0000-4000-8000-000000000002', '2026-11-26T10:03:00.000000'),
  action('resize', 'req-0a1b2c3d-0000-4000-8000-000000000003', '2026-11-26T10:02:00.000000'),
  action('create', 'req-0a1b2c3d-0000-4000-8000-000000000004', '2026-11-26T09:00:00.000000'),
];

describe('requestHint: the request id a not_found watch most likely meant', () => {
  it('names the listed id one character off, with its action and start', () => {
    const meant = action('resize', WATCHED.replace('934f', '934e'), '2026-11-26T10:01:02.345000');
    expect(requestHint(WATCHED, [...others, meant])).toBe(`did you mean resize ${meant.request_id} (started 2026-11-26T10:01:02Z)?`);
  });

  it('names the listed id that the watched one was cut short from, or copied with a character too many', () => {
    const full = action('live-migration', WATCHED);
    expect(requestHint(WATCHED.slice(0, 20), [...others, full])).toMatch(new RegExp(`^did you mean live-migration ${WATCHED} `));
    expect(requestHint(`${WATCHED}x`, [...others, full])).toMatch(new RegExp(`^did you mean live-migration ${WATCHED} `));
  });

  it('names the latest three, and how many there are, when no listed id is near', () => {
    expect(requestHint(WATCHED, others)).toBe(
      "the server's latest actions (of 4): reboot req-0a1b2c3d-0000-4000-8000-000000000001 (started 2026-11-26T10:05:00Z), " +
        'stop req-0a1b2c3d-0000-4000-8000-000000000002 (started 2026-11-26T10:03:00Z), resize req-0a1b2c3d-0000-4000-8000-000000000003 (started 2026-11-26T10:02:00Z)',
    );
    expect(requestHint(WATCHED, [action('create', 'req-1', null)])).toBe("the server's latest actions: create req-1");
  });

  it('guesses none of two that are as near', () => {
    const twins = [action('reboot', WATCHED.replace('934f', '934e')), action('stop', WATCHED.replace('934f', '934d'))];
    expect(requestHint(WATCHED, twins)).toMatch(/^the server's latest actions: reboot /);
  });

  it('says the server shows no actions, and nothing when the list holds the id itself', () => {
    expect(requestHint(WATCHED, [])).toBe('the server shows no actions');
    expect(requestHint(WATCHED, [...others, action('reboot', WATCHED)])).toBe('');
  });
});

describe('a job id given as a request id, and the reverse', () => {
  const JOB = 'ff808082843684110184e155fdb36461';

  const EITHER =
    `${JOB} looks like the job_id of a call to Huawei's native ECS API (watch it as \`kind: ecs-job\` with \`jobId: ${JOB}\`: \`ecs-action-watch add --job ${JOB}\`), ` +
    "or the X-Request-Id of Huawei's API gateway, which names no action (an action's request id is the call's X-Openstack-Request-Id, req- and a UUID)";

  it('says a request id of 32 hex digits the server does not list may be a job id, and how to watch one, or the gateway\'s X-Request-Id', () => {
    expect(requestHint(JOB, [])).toBe(`${EITHER}; the server shows no actions`);
    expect(requestHint(WATCHED, [])).toBe('the server shows no actions');
  });

  it("names the server's latest actions after it too: Huawei's API gateway answers every call with an X-Request-Id of 32 hex digits, easily taken for the action's", () => {
    expect(requestHint(JOB, others)).toBe(`${EITHER}; ${requestHint(WATCHED, others)}`);
  });

  it('says a job id the API does not know looks like a request id, and nothing for a job id that looks like one', () => {
    expect(jobIdHint(WATCHED)).toBe(`${WATCHED} looks like the request id of an instance action: watch it as \`requestId: ${WATCHED}\` with its \`serverId\``);
    expect(jobIdHint(JOB)).toBe('');
  });
});

describe('a server name given as its id', () => {
  it("says an id that is no UUID is most likely the server's name, and how to get its id", () => {
    expect(serverIdHint('web-01')).toBe("web-01 is no server id (Nova's and Huawei's are UUIDs): if it is the server's name, `openstack server show web-01 -f value -c id` gives its id");
    expect(serverIdHint('9a3b3c1e-5d2f-4e7a-8b6c-1d2e3f40516')).toMatch(/^9a3b3c1e-5d2f-4e7a-8b6c-1d2e3f40516 is no server id/);
  });

  it('says nothing of a UUID, with or without its dashes and in either case, as Nova takes it', () => {
    expect(serverIdHint('9a3b3c1e-5d2f-4e7a-8b6c-1d2e3f405162')).toBe('');
    expect(serverIdHint('9A3B3C1E5D2F4E7A8B6C1D2E3F405162')).toBe('');
  });
});
