// How a server shows that a step died with its compute service. Pure.
import type { ServerInfo } from '../model.ts';

/**
 * The sign, in words, that the watched action's running step died with its compute service; null where
 * the server shows none. nova-compute at its start (manager.py _init_instance) sets a server it was building
 * or rebuilding ERROR with no task state, and clears a snapshot's image_* task state, which a snapshot that
 * runs keeps until just before its event ends (_snapshot_instance). A resize's or a migration's step that
 * died leaves nothing of the kind.
 */
export function deadStepSign(action: string, info: Pick<ServerInfo, 'status' | 'taskState'>): string | null {
  if (info.taskState !== null) return null;
  if (info.status === 'ERROR') return 'ERROR with no task state';
  return action === 'createImage' ? `${info.status} with no task state (a running snapshot keeps one)` : null;
}
