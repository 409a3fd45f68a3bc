// The demo's scripted actions and jobs: the cases a watcher must get right, short enough that the whole
// demo ends well under 30 s (every finishing action or job is over within 6 s of being added).

import { randomUUID } from 'node:crypto';
import type { Outcome } from '../model.ts';
import type { ActionScript } from './script.ts';
import type { JobScript } from './jobs.ts';

/**
 * A live migration from compute-1 to compute-2 with the events Nova writes (conductor, the two checks,
 * `compute_live_migration` ending Success as soon as the job is handed to a thread, pre_live_migration on
 * the destination; 2.3 s in all), task_state cleared `taskStateClearsAfterMs` later, and the migration
 * record ending `finalStatus` (`failed`: rolled back, the server stays on compute-1) `statusLagMs` after that.
 */
export function liveMigrationScript<T extends Pick<ActionScript, 'projectId' | 'serverId'>>(
  ids: T,
  finalStatus: string,
  timing: { taskStateClearsAfterMs?: number; statusLagMs?: number } = {},
): T & ActionScript {
  return {
    ...ids,
    action: 'live-migration',
    host: 'compute-1',
    steps: [
      { event: 'conductor_live_migrate_instance', durationMs: 500, host: 'controller-1' },
      { event: 'compute_check_can_live_migrate_destination', durationMs: 500, host: 'compute-2' },
      { event: 'compute_check_can_live_migrate_source', durationMs: 300, host: 'compute-1' },
      { event: 'compute_live_migration', durationMs: 200, host: 'compute-1' },
      { event: 'compute_pre_live_migration', durationMs: 800, host: 'compute-2' },
    ],
    taskStateClearsAfterMs: timing.taskStateClearsAfterMs ?? 1500,
    migration: { destHost: 'compute-2', finalStatus, statusLagMs: timing.statusLagMs ?? 1000 },
  };
}

export interface DemoScenario {
  /** Stable handle for the demo's code and output. */
  readonly key: 'resize-ok' | 'create-no-valid-host' | 'reboot-stuck' | 'create-late' | 'create-silent-error' | 'live-migration-rolled-back';
  /** A label for people, usable as the watch's name. */
  readonly name: string;
  /** What a correct watcher concludes, per CONTRACT.md "When a watch ends". */
  readonly expected: Outcome;
  /** Ids filled in, ready for Simulator.addAction. */
  readonly script: ActionScript & { readonly requestId: string };
}

// Frames as Nova stores them for a failed event: format_tb, no header, no exception line.
const NO_VALID_HOST_TRACEBACK = [
  '  File "/usr/lib/python3/dist-packages/nova/conductor/manager.py", line 1654, in schedule_and_build_instances',
  '    host_lists = self._schedule_instances(context, request_specs[0],',
  '  File "/usr/lib/python3/dist-packages/nova/conductor/manager.py", line 942, in _schedule_instances',
  '    host_lists = self.query_client.select_destinations(',
  '  File "/usr/lib/python3/dist-packages/nova/scheduler/client/query.py", line 41, in select_destinations',
  '    return self.scheduler_rpcapi.select_destinations(context, spec_obj,',
  '  File "/usr/lib/python3/dist-packages/nova/scheduler/rpcapi.py", line 160, in select_destinations',
  '    return cctxt.call(ctxt, \'select_destinations\', **msg_args)',
  '  File "/usr/lib/python3/dist-packages/oslo_messaging/rpc/client.py", line 190, in call',
  '    result = self.transport._send(',
  '',
].join('\n');

// An instance fault's details are the whole formatted exception, header and message included.
const NO_VALID_HOST_FAULT_DETAILS = [
  'Traceback (most recent call last):',
  NO_VALID_HOST_TRACEBACK.trimEnd(),
  'nova.exception_Remote.NoValidHost_Remote: No valid host was found. ',
  '',
].join('\n');

/**
 * The demo set for one project, with fresh server and request ids on every call:
 * 1. `resize-ok`: a three-step resize over 6 s with 1 s gaps between the steps, during which every
 *    present event is finished but task_state is still set; ends VERIFY_RESIZE (success).
 * 2. `create-no-valid-host`: a create that shows up after 1 s with one event that failed (result
 *    Error, a traceback for admins), the server in ERROR with a NoValidHost fault (failure).
 * 3. `reboot-stuck`: a reboot whose event never finishes (timeout, under any deadline).
 * 4. `create-late`: a create that is 404 for its first 2 s and then succeeds by 4.3 s (success).
 * 5. `create-silent-error`: a create whose only event reports Success while the server ends in
 *    ERROR with a fault, as Nova does when a build is aborted inside the compute manager (failure).
 * 6. `live-migration-rolled-back`: a live migration whose every event ends Success and whose server
 *    ends ACTIVE without a fault, on its source host: the hypervisor job failed and Nova rolled it
 *    back, which only the migration record shows (`failed`, a second after task_state clears) (failure).
 */
export function demoScenarios(projectId: string): DemoScenario[] {
  const ids = () => ({ projectId, serverId: randomUUID(), requestId: `req-${randomUUID()}` });
  const silent = ids();
  return [
    {
      key: 'resize-ok',
      name: 'resize app-01',
      expected: 'success',
      script: {
        ...ids(),
        action: 'resize',
        serverName: 'app-01',
        gapMs: 1000,
        steps: [
          { event: 'compute_prep_resize', durationMs: 1000, taskState: 'resize_prep', host: 'compute-2' },
          { event: 'compute_resize_instance', durationMs: 1500, taskState: 'resize_migrating', host: 'compute-1' },
          { event: 'compute_finish_resize', durationMs: 1000, taskState: 'resize_finish', host: 'compute-2' },
        ],
        taskStateClearsAfterMs: 500,
        migration: { destHost: 'compute-2' },
      },
    },
    {
      key: 'create-no-valid-host',
      name: 'create db-01',
      expected: 'failure',
      script: {
        ...ids(),
        action: 'create',
        serverName: 'db-01',
        visibleAfterMs: 1000,
        steps: [
          {
            event: 'conductor_schedule_and_build_instances',
            durationMs: 500,
            result: 'Error',
            traceback: NO_VALID_HOST_TRACEBACK,
            details: 'No valid host was found. ',
            host: 'controller-1',
          },
        ],
        taskStateClearsAfterMs: 200,
        fault: { code: 500, message: 'No valid host was found. ', details: NO_VALID_HOST_FAULT_DETAILS },
      },
    },
    {
      key: 'reboot-stuck',
      name: 'reboot cache-01',
      expected: 'timeout',
      script: {
        ...ids(),
        action: 'reboot',
        serverName: 'cache-01',
        steps: [{ event: 'compute_reboot_instance', durationMs: 1000 }],
        neverFinishes: true,
      },
    },
    {
      key: 'create-late',
      name: 'create web-01',
      expected: 'success',
      script: {
        ...ids(),
        action: 'create',
        serverName: 'web-01',
        visibleAfterMs: 2000,
        steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 2000, taskState: 'spawning' }],
        taskStateClearsAfterMs: 300,
      },
    },
    {
      key: 'create-silent-error',
      name: 'create web-02',
      expected: 'failure',
      script: {
        ...silent,
        action: 'create',
        serverName: 'web-02',
        steps: [{ event: 'compute__do_build_and_run_instance', durationMs: 1500, taskState: 'spawning' }],
        taskStateClearsAfterMs: 300,
        fault: {
          code: 500,
          message:
            `Build of instance ${silent.serverId} aborted: Volume 0c5ec34b-4e5a-4bd4-9a1e-5cbdd1d6f1a3 did not finish ` +
            'being created even after we waited 187 seconds or 61 attempts. And its status is error.',
        },
      },
    },
    {
      key: 'live-migration-rolled-back',
      name: 'live-migrate app-02',
      expected: 'failure',
      script: { ...liveMigrationScript(ids(), 'failed'), serverName: 'app-02' },
    },
  ];
}

export interface DemoJob {
  readonly key: 'batch-create-ok' | 'batch-create-quota';
  readonly name: string;
  readonly expected: Outcome;
  /** Ids filled in, ready for Simulator.addJob. */
  readonly script: JobScript & { readonly jobId: string };
}

/**
 * The demo's jobs of the native ECS API, with fresh ids on every call:
 * 1. `batch-create-ok`: a createServer job of three servers, INIT for 0.5 s, the sub-jobs ending at
 *    1.5, 2.5 and 3.5 s (success).
 * 2. `batch-create-quota`: a createServer job of two servers whose second sub-job fails on the disk
 *    quota after 2 s, as Huawei reports it per sub-job (failure).
 */
export function demoJobs(projectId: string): DemoJob[] {
  const jobId = () => randomUUID().replaceAll('-', '');
  return [
    {
      key: 'batch-create-ok',
      name: 'create web-10..12',
      expected: 'success',
      script: {
        projectId,
        jobId: jobId(),
        jobType: 'createServer',
        initMs: 500,
        subJobs: [{ durationMs: 1000 }, { startAfterMs: 500, durationMs: 1500 }, { startAfterMs: 1000, durationMs: 2000 }],
      },
    },
    {
      key: 'batch-create-quota',
      name: 'create db-10..11',
      expected: 'failure',
      script: {
        projectId,
        jobId: jobId(),
        jobType: 'createServer',
        subJobs: [
          { durationMs: 1500 },
          { durationMs: 2000, result: 'FAIL', errorCode: 'Ecs.0039', failReason: 'Insufficient EVS disk quota. Increase the quota or delete unused disks.' },
        ],
      },
    },
  ];
}
