// A SIGTERM that comes while the daemon's parts start, once they hold the state lock (the state read, a
// journal compacted): the stop is a clean one, as at any other moment, and the parts it finds starting
// begin no pass and no delivery, to be cut off by the drain a moment later.
import { expect, vi } from 'vitest';
import { StateStore } from '../../src/state/store.ts';
import { itWithHarness as it, quickAction } from './harness.ts';

it('polls and sends nothing at a SIGTERM that comes while its parts read the state, and exits 0', async ({ h, onTestFinished }) => {
  const a = quickAction();
  h.simulator.addAction(a);
  const path = await h.writeConfig(h.yaml([a]));
  const stop = new AbortController();
  const open = StateStore.open.bind(StateStore);
  const spy = vi.spyOn(StateStore, 'open').mockImplementation(async (...args) => {
    const store = await open(...args);
    stop.abort('SIGTERM');
    return store;
  });
  onTestFinished(() => spy.mockRestore());
  const r = await h.cli(['run', '--config', path], { signal: stop.signal });
  expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
  expect(spy).toHaveBeenCalledTimes(1);
  expect(h.simulator.requests).toEqual([]);
  expect(h.hooks.received).toEqual([]);
  expect(h.logs.lines().map((l) => l['msg'])).toContain('stopped');
});
