// The connection pool is made at the first request, once undici has loaded: what goes wrong in making it
// must fail that request with its reason, as it does every later one.
import { afterEach, expect, it, vi } from 'vitest';
import { attempt, failedResize, silentLogger } from '../notify/fixtures.ts';
import { closedPort } from '../net.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

it('fails the first request with the reason its pool cannot be made (a proxy that is no URL), not a timeout and an unhandled rejection', async () => {
  vi.stubEnv('HTTPS_PROXY', '10.0.0.1:3128');
  // A module graph of its own, so that undici is not loaded yet, as in a fresh process.
  vi.resetModules();
  const { createWebhookNotifier } = await import('../../src/notify/webhook/webhook.ts');
  const url = `http://127.0.0.1:${await closedPort()}/ecs`;
  const hook = createWebhookNotifier('chat', { type: 'webhook', url, headers: {}, timeout: 1000, on: ['failure'] }, { logger: silentLogger });
  try {
    for (const n of [1, 2]) {
      // (Its DeliveryError is another module graph's class: matched by its fields.)
      await expect(hook.send(failedResize(), attempt(undefined, n))).rejects.toMatchObject({
        message: `webhook chat: POST ${url} failed: Invalid URL (ERR_INVALID_URL)`,
        retryable: true,
      });
    }
  } finally {
    await hook.close();
  }
});
