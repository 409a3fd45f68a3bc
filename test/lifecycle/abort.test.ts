import { expect, it } from 'vitest';
import { abortListeners, listenForAbort, untilAborted, whenAborted } from '../../src/lifecycle/abort.ts';
import { collectGarbage } from '../gc.ts';
import { runIsolated, sourceModule } from '../isolated.ts';

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
  expect([...abortListeners(longLived.signal)]).toEqual([]);
  await collectGarbage();
  expect(listener!.deref()).toBeUndefined();
  for (const relay of held) (relay as (reason: unknown) => void)('late');
  longLived.abort('aborted');
  expect(heard).toEqual([]);
});

it('gives a stopped listener\'s slot back once, however often it is stopped', () => {
  const longLived = new AbortController();
  const heard: string[] = [];
  const stop = listenForAbort([longLived.signal], () => heard.push('stopped'));
  stop();
  stop();
  // Had the slot been freed twice, these two would share it and one would be lost.
  listenForAbort([longLived.signal], () => heard.push('first'));
  listenForAbort([longLived.signal], () => heard.push('second'));
  expect(abortListeners(longLived.signal).size).toBe(2);
  longLived.abort();
  expect(heard.sort()).toEqual(['first', 'second']);
});

it('calls a listener once when its signal is named twice, and stops listening to it in both places', () => {
  const longLived = new AbortController();
  const heard: unknown[] = [];
  const stop = listenForAbort([longLived.signal, longLived.signal], (reason) => heard.push(reason));
  stop();
  expect(abortListeners(longLived.signal).size).toBe(0);
  const again = new AbortController();
  listenForAbort([again.signal, again.signal], (reason) => heard.push(reason));
  again.abort('once');
  expect(heard).toEqual(['once']);
});

it('settles as the promise it waits for, or with the reason of its signal aborted first, and stops listening either way', async () => {
  const longLived = new AbortController();
  await expect(untilAborted(Promise.resolve('answered'), longLived.signal)).resolves.toBe('answered');
  await expect(untilAborted(Promise.reject(new Error('refused')), longLived.signal)).rejects.toThrow('refused');
  expect(abortListeners(longLived.signal).size).toBe(0);
  const pending = untilAborted(new Promise(() => undefined), longLived.signal);
  longLived.abort(new Error('closing'));
  await expect(pending).rejects.toThrow('closing');
});

it('resolves whenAborted for a signal aborted already as for one that aborts later', async () => {
  const [already, later] = [new AbortController(), new AbortController()];
  already.abort(new Error('closed'));
  const resolved: string[] = [];
  void whenAborted(already.signal).then(() => resolved.push('already'));
  void whenAborted(later.signal).then(() => resolved.push('later'));
  // Whatever has settled by now has had its callbacks run: they are microtasks.
  await new Promise((resolve) => setImmediate(resolve));
  expect(resolved).toEqual(['already']);
  later.abort();
  await new Promise((resolve) => setImmediate(resolve));
  expect(resolved).toEqual(['already', 'later']);
});

/**
 * What 20,000 requests, 64 at a time, each listening to two long-lived signals as polls do, leave in V8's
 * old generation through young-generation collections alone, in KiB: with listenForAbort, and with a Set
 * of listeners per signal as it had before (the premise: that young-generation collections show what a
 * Set's rebuilt tables kept). A process of its own, for --expose-gc.
 */
function agedByChurnKib(): { slots: number; set: number } {
  const body = `
    import { getHeapSpaceStatistics } from 'node:v8';
    const { listenForAbort } = await import(${sourceModule('lifecycle/abort.ts')});
    const oldUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
    const sets = new WeakMap();
    function listenWithSets(signals, listener) {
      const cell = { listener };
      const relay = (reason) => { const heard = cell.listener; stop(); heard?.(reason); };
      function stop() { cell.listener = null; for (const signal of signals) sets.get(signal).delete(relay); }
      for (const signal of signals) { if (!sets.has(signal)) sets.set(signal, new Set()); sets.get(signal).add(relay); }
      return stop;
    }
    function churn(listen) {
      const [closed, engine] = [new AbortController(), new AbortController()];
      const inFlight = [];
      for (let i = 0; i < 64; i++) inFlight.push(listen([closed.signal, engine.signal], () => undefined));
      // The signals' listeners are old objects from here on, as a daemon's are.
      gc(); gc();
      const before = oldUsed();
      for (let i = 0; i < 20000; i++) {
        inFlight[i % 64]();
        const answer = { text: 'x'.repeat(200) + i };
        inFlight[i % 64] = listen([closed.signal, engine.signal], () => answer);
        if (i % 500 === 499) gc({ type: 'minor' });
      }
      gc({ type: 'minor' });
      gc({ type: 'minor' });
      return (oldUsed() - before) / 1024;
    }
    process.stdout.write(JSON.stringify({ slots: churn(listenForAbort), set: churn(listenWithSets) }));
  `;
  return JSON.parse(runIsolated(body, ['--expose-gc'])) as { slots: number; set: number };
}

it('ages no listener of a finished request into the old generation, as a Set rebuilding its table did', () => {
  const aged = agedByChurnKib();
  // The premise, 7,200-7,300 KiB when measured: the listeners in flight each time a table was rebuilt.
  expect(aged.set, 'young-generation collections no longer age what a Set\'s rebuilt tables held').toBeGreaterThan(2048);
  // 350-620 KiB when measured: the 64 still listening and the loop's own.
  expect(aged.slots).toBeLessThan(2048);
});
