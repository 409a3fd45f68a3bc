// How a server shows that a step died with its compute service, or that a failed one left its task state. Pure.
import type { InstanceAction, ServerInfo } from '../model.ts';

/**
 * The sign, in words, that the watched action's running step died with its compute service; null where
 * the server shows none. nova-compute at its start (manager.py _init_instance) sets a server it was building
 * or rebuilding ERROR with no task state; clears a snapshot's or a backup's image_* task state, which a
 * snapshot that runs keeps until just before its event ends (_snapshot_instance; from Nova 33 the event ends
 * as the snapshot is handed to a task of its own, and the sign is never needed); and rolls back a resize or cold
 * migration it finds resize_migrating, then clears that task state, leaving the server ACTIVE (SHUTOFF if
 * it was stopped), where each step of a running one keeps resize_prep, resize_migrating, resize_migrated
 * or resize_finish until its event ends; and clears a pause's, an unpause's or a reboot's task state with
 * the guest running (CLEARED_IF_RUNNING). A live migration keeps task_state migrating until it ends: its
 * destination clears it inside its post_live_migration_at_destination event (a failure there ends in ERROR),
 * and otherwise only a rollback does (the source's _rollback_live_migration, the conductor's _set_vm_state),
 * leaving the server ACTIVE or PAUSED on its source; so one of its events left open beside that is a step
 * whose service stopped (the destination's, in pre_live_migration or its check), the migration rolled back.
 * Not one of its post steps: the source's _post_live_migration runs on after the destination cleared the
 * task state of a migration that succeeded (it updates the host's resources under a lock the periodic
 * update holds, saves the migration, frees its allocations), and the destination's event ends just after.
 */
export function deadStepSign(watched: InstanceAction, info: Pick<ServerInfo, 'status' | 'taskState'>): string | null {
  if (info.taskState !== null) return null;
  const { action } = watched;
  if (info.status === 'ERROR') return 'ERROR with no task state';
  if (action === 'createImage') return `${info.status} with no task state (a running snapshot keeps one)`;
  // backup_instance also runs _rotate_backups inside its event after the snapshot has cleared its task
  // state: a few glance calls, seconds, which the window the sign must last (STALL_ERROR_WINDOW_MS) covers.
  if (action === 'createBackup') return `${info.status} with no task state (a running backup keeps one until it rotates old backups)`;
  const rolledBack = RESIZES.has(action) && (info.status === 'ACTIVE' || info.status === 'SHUTOFF');
  if (rolledBack) return `${info.status} with no task state (a running ${action} keeps one; nova-compute rolls one back at its start)`;
  const posting = (watched.events ?? []).some((e) => e.finish_time === null && e.event.includes('post_live_migration'));
  if (action === 'live-migration' && (info.status === 'ACTIVE' || info.status === 'PAUSED') && !posting) {
    return `${info.status} with no task state (a running live migration keeps one; Nova clears it as it rolls one back)`;
  }
  const cleared = CLEARED_IF_RUNNING.has(action) && info.status === 'ACTIVE';
  return cleared ? `ACTIVE with no task state (a running ${action} keeps one; nova-compute clears it at its start, the guest running, without redoing the step)` : null;
}

/**
 * Actions whose task state _init_instance clears, setting vm_state active, when it finds the guest running
 * (power state RUNNING with task state pausing, unpausing, rebooting, rebooting_hard, reboot_started or
 * reboot_started_hard), and whose step it does not redo; each step keeps that task state until just before
 * its event ends (pause_instance, unpause_instance, _reboot_instance). A reboot it finds pending, or with
 * the guest not running, and an unpause with the guest paused, it redoes, under a new row of the event
 * that ends the first (retries.ts): no sign. Suspending, resuming, powering-off and powering-on it leaves
 * set or redoes.
 */
const CLEARED_IF_RUNNING = new Set(['pause', 'unpause', 'reboot']);

/** Nova's action names of a resize and of a cold migration. */
const RESIZES = new Set(['resize', 'migrate']);

/**
 * The sign, in words, that a failed step left the server ERROR with the action's task state for good; null
 * where the server shows none. Asked once every event has finished. conductor/manager.py unshelve_instance,
 * the snapshot image gone (get_image_info), sets vm_state ERROR and raises with no reverts_task_state: the
 * task state stays unshelving and no further step starts. Elsewhere a failing step's task state is reverted
 * a moment after its event ends, which the same ERROR window covers.
 */
export function failedStepSign(action: InstanceAction, info: Pick<ServerInfo, 'status' | 'taskState'>): string | null {
  if (info.status !== 'ERROR' || info.taskState === null) return null;
  const failed = (action.events ?? []).some((e) => e.result !== null && e.result !== 'Success');
  return failed ? `ERROR (task_state ${info.taskState}) after a failed step` : null;
}
