import { describe, expect, it } from 'vitest';
import { hiddenPartsOf, shortUrl } from '../../src/net/shortUrl.ts';

describe('shortUrl', () => {
  it.each([
    ['https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX', 'https://hooks.slack.com/services/…'],
    ['https://discord.com/api/webhooks/123456789012345678/abcDEF-ghi_JKL', 'https://discord.com/api/webhooks/…'],
    ['https://contoso.webhook.office.com/webhookb2/7f4c-aa@72f9/IncomingWebhook/0b1c/9d8e', 'https://contoso.webhook.office.com/webhookb2/…'],
    ['https://hooks.example.com/ecs', 'https://hooks.example.com/ecs'],
    ['http://127.0.0.1:8080/hooks/ecs-watch', 'http://127.0.0.1:8080/hooks/ecs-watch'],
    ['https://example.com/3f1c0d9e8a7b6c5d4e3f', 'https://example.com/…'],
    ['https://example.com/AbCdEfGhIjKlMnOp', 'https://example.com/…'],
    ['https://user:pass@example.com/hook?token=abc', 'https://example.com/hook?…'],
    ['https://example.com', 'https://example.com/'],
    // A word then digits, or a run of lower-case letters too long for a word: a token.
    ['https://example.com/hooks/abcdefgh12345678', 'https://example.com/hooks/…'],
    ['https://example.com/ecs/qwertyuiopasdfghjklz', 'https://example.com/ecs/…'],
  ])('%s → %s', (url, shown) => {
    expect(shortUrl(new URL(url))).toBe(shown);
  });

  it('gives as hidden, as written and decoded, each part the short URL leaves out, and none it shows', () => {
    const url = new URL('https://us%40r:pw@example.com/hooks/Ab%2Bc/send?k=x%2By+z&solo');
    expect(shortUrl(url)).toBe('https://example.com/hooks/…?…');
    expect(hiddenPartsOf(url).sort()).toEqual(['Ab%2Bc', 'Ab+c', 'pw', 'send', 'solo', 'us%40r', 'us@r', 'x%2By+z', 'x+y z', 'x+y+z'].sort());
  });
});
