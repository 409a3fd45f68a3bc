import { expect, it } from 'vitest';
import { abortListeners, listenForAbort } from '../../src/lifecycle/abort.ts';
import { collectGarbage } from '../gc.ts';

it('calls the listener once, with the reason of the first signal to abort, and stops listening to the others then', () => {
  const [first, second] = [new AbortController(), new AbortController()];
  const heard: unknown[] = [];
  listenForAbort([first.signal, undefined, second.signal], (reason) => heard.push(reason));
  second.abort('second');
  expect(abortListeners(first.signal).size).toBe(0);
  first.abort('first');
  expect(heard).toEqual(['second']);
});

it('refuses a signal that is already aborted, with its reason, and listens to none of the others', () => {
  const [live, aborted] = [new AbortController(), new AbortController()];
  aborted.abort(new Error('closed already'));
  expect(() => listenForAbort([live.signal, aborted.signal], () => undefined)).toThrow('closed already');
  expect(abortListeners(live.signal).size).toBe(0);
});

it('once stopped, neither calls the listener nor keeps it reachable from the signal it listened to', async () => {
  const longLived = new AbortController();
  const heard: unknown[] = [];
  let listener: WeakRef<object>;
  const held = (() => {
    const capture = { heard };
    const onAbort = (reason: unknown) => capture.heard.push(reason);
    listener = new WeakRef(onAbort);
    const stop = listenForAbort([longLived.signal], onAbort);
    // What sits in the signal's listeners, held here as an old object of V8's may still hold it.
    const relays = [...abortListeners(longLived.signal)];
    stop();
    return relays;
  })();
  expect(abortListeners(longLived.signal).size).toBe(0);
  await collectGarbage();
  expect(listener!.deref()).toBeUndefined();
  for (const relay of held) (relay as (reason: unknown) => void)('late');
  longLived.abort('aborted');
  expect(heard).toEqual([]);
});
