import { vi } from 'vitest';

/**
 * vi.waitFor with room for a loaded machine. Its own limit of 1 s is the time a check takes on a quiet one,
 * with none to spare: with four test files at a time and other work on two cores, a wave of 100 webhooks
 * took longer than that to arrive. The limit costs nothing while the condition comes true: a failing test
 * waits longer, a passing one no longer. With fake timers each look still moves them on by `interval`.
 */
export function eventually<T>(check: () => T | Promise<T>, options: { interval?: number; timeout?: number } = {}): Promise<T> {
  return vi.waitFor(check, { timeout: 10_000, ...options });
}

/**
 * Resolves once `condition` holds, looked at every 50 ms by the real clock, for a test on real time (a
 * daemon of its own, the schedule's passes); the error names the condition by its source.
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const giveUpAt = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > giveUpAt) throw new Error(`not within ${timeoutMs} ms: ${String(condition)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
