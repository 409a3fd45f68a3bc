// The demo a newcomer runs first (`npm run demo`), whole: it takes its 8-10 s of real time (a stuck watch's
// deadline is part of its story), so it is a file of its own, run beside the others.
import { describe, expect, vi } from 'vitest';
import { Capture, itWithHarness as it } from './harness.ts';

describe('demo', () => {
  // It gives up at 25 s rather than hang.
  it('runs the whole flow on its own cloud and receivers, every watch ending as expected and notified, and exits 0', { timeout: 30_000 }, async ({ h }) => {
    const r = await h.cli(['demo'], { env: { LOG_LEVEL: undefined } });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const table = r.stdout.slice(r.stdout.indexOf('\nWATCH ') + 1).split('\n\n')[0]!.split('\n');
    expect(table[0]).toMatch(/^WATCH +EXPECTED +OUTCOME +DELIVERIES$/);
    const rows = table.slice(1).map((row) => /^(.+?) +(\w+) +(\w+) +(.+)$/.exec(row)!.slice(2));
    expect(rows.length).toBeGreaterThan(1);
    for (const [expected, outcome, deliveries] of rows) {
      expect(outcome).toBe(expected);
      expect(deliveries).toMatch(/^chat:delivered( ops-mail:delivered)?$/);
    }
    expect(r.stdout).toMatch(/^\d+ webhooks and \d+ mails delivered; \d+ API requests answered\.\nauth: \d+ Keystone tokens fetched .*; aksk: (\d+) of \1 reads accepted, token: (\d+) of \2 reads accepted\.$/m);
  });

  it('stops at Ctrl-C with the status of the signal, on its own rather than abandoned', async ({ h }) => {
    const stop = new AbortController();
    const stdout = new Capture();
    const running = h.cli(['demo'], { signal: stop.signal, stdout, env: { LOG_LEVEL: undefined } });
    await vi.waitFor(() => expect(stdout.text).toContain('] poll    '), { timeout: 10_000, interval: 20 });
    stop.abort('SIGINT');
    expect(await running).toMatchObject({ code: 130, stderr: '' });
  });
});
