import { describe, expect, it } from 'vitest';
import { NOTIFIER_SECRET_KEYS, NOTIFIER_TYPE_NAMES, createNotifiers, movedNotifiers, notifierWarnings, retunedNotifiers } from '../../src/notify/registry.ts';
import { everyProperty, silentLogger } from './fixtures.ts';

const deps = { logger: silentLogger };

describe('notifier registry', () => {
  it('builds one notifier per configured name, of its type', async () => {
    const notifiers = createNotifiers(
      {
        'ops-mail': {
          type: 'email',
          smtp: { host: '127.0.0.1', port: 2525, secure: false, timeout: 1000, connections: 3 },
          from: 'ecs-watch@example.com',
          to: ['ops@example.com'],
          on: ['failure'],
        },
        chat: { type: 'webhook', url: 'http://127.0.0.1:9/ecs', headers: {}, timeout: 1000, on: ['success'] },
      },
      deps,
    );
    expect([...notifiers].map(([name, n]) => [name, n.name, n.type])).toEqual([
      ['ops-mail', 'ops-mail', 'email'],
      ['chat', 'chat', 'webhook'],
    ]);
    expect(notifiers.get('chat')!.accepts('success')).toBe(true);
    expect(notifiers.get('chat')!.accepts('failure')).toBe(false);
    await Promise.all([...notifiers.values()].map((n) => n.close()));
  });

  it('knows every notifier type and the secret keys of each', () => {
    // Contains, not equals: a new type is one folder and one registry entry, with no list here to edit.
    expect(NOTIFIER_TYPE_NAMES).toEqual(expect.arrayContaining(['email', 'webhook']));
    expect(new Set(NOTIFIER_TYPE_NAMES).size).toBe(NOTIFIER_TYPE_NAMES.length);
    expect([...NOTIFIER_SECRET_KEYS]).toEqual(expect.arrayContaining(['password', 'secret']));
  });

  it('names the notifier it cannot build, without repeating its URL', () => {
    const build = (): unknown =>
      createNotifiers(
        {
          chat: { type: 'webhook', url: 'http://127.0.0.1:9/ecs', headers: {}, timeout: 1000, on: ['success'] },
          broken: { type: 'webhook', url: 'http://user:hunter2@[not-a-host/', headers: {}, timeout: 1000, on: ['success'] },
        },
        deps,
      );
    let error: unknown;
    try {
      build();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^notifier broken: /);
    expect(everyProperty(error)).not.toContain('hunter2');
  });

  it("warns of the credential an http:// webhook URL's query sends in the clear (DingTalk's access_token=, WeCom's key=), as of its login", () => {
    const chat = (url: string) => ({ chat: { type: 'webhook' as const, url, headers: {}, timeout: 1000, on: ['success' as const] } });
    expect(notifierWarnings(chat('http://hooks.example.com/robot/send?access_token=5ecret-t0ken&lang=en'))).toEqual([{
      path: ['notifiers', 'chat', 'url'],
      message: 'http:// sends the access_token of its query in the clear to hooks.example.com, for anyone on the network between to read and use: write https:// (a loopback address, such as a local proxy that adds TLS, is not warned of)',
    }]);
    expect(notifierWarnings(chat('http://ops:pw@hooks.example.com/v1/spaces/AAA/messages?key=5ecret-k3y&token=5ecret-t0k'))[0]!.message)
      .toMatch(/^http:\/\/ sends the user and password of its URL \(Basic authentication\) and the key and token of its query in the clear /);
    // Over https://, to a loopback address, or with nothing but plain words in its query: nothing to say.
    for (const url of ['https://hooks.example.com/send?access_token=T0ken', 'http://127.0.0.1:8080/send?access_token=T0ken', 'http://hooks.example.com/send?lang=en&channel=ops']) {
      expect(notifierWarnings(chat(url)), url).toEqual([]);
    }
  });

  it('refuses a webhook secret that holds no key', () => {
    expect(() =>
      createNotifiers({ chat: { type: 'webhook', url: 'http://127.0.0.1:9/', secret: 'whsec_', headers: {}, timeout: 1000, on: [] } }, deps),
    ).toThrow(/^notifier chat: webhook secret holds no key/);
  });

  it('names the notifiers a reload changed, brought back or trusts another CA for, as to be tried at once', () => {
    const chat = { type: 'webhook' as const, url: 'http://127.0.0.1:9/ecs', headers: {}, timeout: 1000, on: ['success' as const] };
    const pager = { ...chat, url: 'http://127.0.0.1:9/pager' };
    const file = (notifiers: Record<string, typeof chat>, ca?: string) => ({ notifiers, cloud: { tls: ca === undefined ? {} : { caFile: 'ca.pem', ca } } });
    expect(retunedNotifiers(file({ chat, pager }), file({ chat, pager }))).toEqual(new Set());
    expect(retunedNotifiers(file({ chat, pager }), file({ chat: { ...chat, url: 'http://127.0.0.1:9/fixed' }, pager }))).toEqual(new Set(['chat']));
    // Back after a reload took it out; one taken out is nothing to try.
    expect(retunedNotifiers(file({ pager }), file({ chat }))).toEqual(new Set(['chat']));
    expect(retunedNotifiers(file({ chat, pager }, 'old'), file({ chat, pager }, 'renewed'))).toEqual(new Set(['chat', 'pager']));
  });

  it('names the notifiers a reload points at another receiver, whose pause (a 429) is not theirs: not one whose other settings changed', () => {
    const chat = { type: 'webhook' as const, url: 'http://127.0.0.1:9/ecs', headers: {}, timeout: 1000, on: ['success' as const] };
    const mail = { type: 'email' as const, smtp: { host: 'smtp.example.com', port: 587, secure: false, timeout: 1000, connections: 3 }, from: 'ecs-watch@example.com', to: ['ops@example.com'], on: ['failure' as const] };
    expect(movedNotifiers({ chat, mail }, { chat: { ...chat, on: ['failure'], timeout: 5000 }, mail: { ...mail, to: ['oncall@example.com'] } })).toEqual(new Set());
    expect(movedNotifiers({ chat, mail }, { chat: { ...chat, url: 'http://127.0.0.1:9/backup' }, mail: { ...mail, smtp: { ...mail.smtp, port: 2525 } } })).toEqual(new Set(['chat', 'mail']));
    // Another type under the same name; one the file before did not have.
    expect(movedNotifiers({ chat, mail }, { chat: mail, other: chat })).toEqual(new Set(['chat', 'other']));
  });
});
