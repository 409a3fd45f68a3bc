// The kinds of watch (`kind:` in the watch file), one module each. Whatever differs between them is
// reached through `kindOf`, so that a new kind is one new module and one line here.
import type { WatchIdentity, WatchKind } from '../../model.ts';
import type { WatchRecord } from '../../state/types.ts';
import { ecsJobKind } from './ecsJob.ts';
import { instanceActionKind } from './instanceAction.ts';
import type { WatchKindModule, WatchTarget } from './types.ts';

// Each module is typed for its own kind; looked up by that same kind, it is handed only its own targets
// and records, which is what the widening to the common signature relies on.
const KINDS: Record<WatchKind, WatchKindModule> = {
  'instance-action': instanceActionKind as unknown as WatchKindModule,
  'ecs-job': ecsJobKind as unknown as WatchKindModule,
};

/** The module of a target's, record's or reference's kind; no `kind` is an instance action. */
export function kindOf(of: { kind?: WatchKind | undefined }): WatchKindModule {
  return KINDS[of.kind ?? 'instance-action'];
}

/**
 * What every log line about a watch carries, whoever writes it (the engine, the outbox): its name, when it
 * has one, and its kind's ids, so that a search by either finds the poll and the notification alike.
 */
export function watchLogFields(of: WatchTarget | WatchRecord): Record<string, string> {
  const ids = kindOf(of).logFields(of);
  return of.name == null ? ids : { watch: of.name, ...ids };
}

/** The state file's key of a watch. */
export function watchKey(ref: WatchIdentity | WatchRecord): string {
  return kindOf(ref).key(ref);
}
