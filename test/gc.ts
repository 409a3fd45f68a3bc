import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// The flag exposes gc() to contexts made from now on: one made here hands it over.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Two full garbage collections, each after a turn of the event loop: a WeakRef's target is kept until the
 * job that made or read it has ended, and an object whose only holder was freed by the first collection
 * (a closure's context, a promise's reaction) may need the second.
 */
export async function collectGarbage(): Promise<void> {
  for (let i = 0; i < 2; i++) {
    await sleep(10);
    gc();
  }
}
