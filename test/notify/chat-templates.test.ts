// The ready templates in docs/templates/: each loads (the same check as the watch file's), and renders, for
// every kind of notification and hostile values, the JSON its chat system's incoming webhook requires.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NOTIFICATION_TYPES, type OutgoingNotification } from '../../src/model.ts';
import { HOSTILE, SAMPLES } from '../../src/notify/template/samples.ts';
import { renderTemplate, templateProblems } from '../../src/notify/template/template.ts';
import { failedResize, fleetDigest } from './fixtures.ts';

const template = (file: string) => readFileSync(new URL(`../../docs/templates/${file}`, import.meta.url), 'utf8');

/** The samples the loader checks, and ordinary ones: a success, a slow resize, a final digest with nothing failed. */
const NOTIFICATIONS: Array<[string, OutgoingNotification]> = [
  ...SAMPLES,
  ['a success', failedResize({ type: NOTIFICATION_TYPES.success, outcome: 'success', reason: 'resize finished' })],
  ['a slow resize', failedResize({ type: NOTIFICATION_TYPES.slow, outcome: null, server: null, reason: 'resize still running 1 h 4 min after it started' })],
  ['a digest of successes', fleetDigest({ type: 'ecs.batch.finished', counts: { success: 1, failure: 0, timeout: 0, not_found: 0, pending: 0 }, watches: fleetDigest().watches.slice(3) })],
];

type Json = Record<string, unknown> & { [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const nonEmpty = (value: unknown) => typeof value === 'string' && value.trim().length > 0;

/** What each system's incoming webhook requires of a message, from its documentation. */
const SYSTEMS: Array<[string, string, (body: Json, what: string) => void]> = [
  ['Slack', 'slack.json.mustache', (body) => {
    // `text` is required with blocks (the notification's fallback); at most 50 blocks; section text 1 to 3000 characters.
    expect(nonEmpty(body.text)).toBe(true);
    expect(body.blocks.length).toBeLessThanOrEqual(50);
    for (const block of body.blocks) {
      expect(['section', 'context']).toContain(block.type);
      if (block.type === 'section') {
        expect(block.text.type).toBe('mrkdwn');
        expect(nonEmpty(block.text.text) && block.text.text.length <= 3000).toBe(true);
      } else {
        expect(block.elements.every((e: Json) => e.type === 'mrkdwn' && nonEmpty(e.text))).toBe(true);
      }
    }
  }],
  ['Microsoft Teams', 'teams.json.mustache', (body) => {
    // A Workflows (or connector) webhook takes a message with one Adaptive Card attachment.
    expect(body.type).toBe('message');
    expect(body.attachments).toHaveLength(1);
    const [attachment] = body.attachments;
    expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(attachment.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(attachment.content.body.length).toBeGreaterThan(0);
    for (const element of attachment.content.body) {
      if (element.type === 'TextBlock') expect(nonEmpty(element.text)).toBe(true);
      else if (element.type === 'FactSet') expect(element.facts.every((f: Json) => nonEmpty(f.title) && typeof f.value === 'string')).toBe(true);
      else expect.fail(`unexpected element ${element.type}`);
    }
    expect(['Good', 'Warning', 'Attention']).toContain(attachment.content.body[0].color);
  }],
  ['Feishu / Lark', 'feishu.json.mustache', (body) => {
    // An interactive card: a header with a plain_text title and a colour template, and elements.
    expect(body.msg_type).toBe('interactive');
    expect(body.card.header.title.tag).toBe('plain_text');
    expect(nonEmpty(body.card.header.title.content)).toBe(true);
    expect(['green', 'orange', 'red']).toContain(body.card.header.template);
    for (const element of body.card.elements) {
      expect(['div', 'note']).toContain(element.tag);
      const texts = element.tag === 'div' ? [element.text] : element.elements;
      for (const text of texts) {
        expect(['plain_text', 'lark_md']).toContain(text.tag);
        expect(nonEmpty(text.content)).toBe(true);
      }
    }
  }],
  ['DingTalk', 'dingtalk.json.mustache', (body) => {
    // A markdown message: title (the notification's preview) and text; "ecs-action-watch" works as the robot's keyword.
    expect(body.msgtype).toBe('markdown');
    expect(nonEmpty(body.markdown.title) && nonEmpty(body.markdown.text)).toBe(true);
    expect(body.markdown.text).toContain('ecs-action-watch');
  }],
  ['WeCom', 'wecom.json.mustache', (body) => {
    // A markdown message of at most 4096 bytes.
    expect(body.msgtype).toBe('markdown');
    expect(nonEmpty(body.markdown.content)).toBe(true);
    expect(Buffer.byteLength(body.markdown.content)).toBeLessThanOrEqual(4096);
  }],
];

describe.each(SYSTEMS)('the %s template', (_system, file, requirements) => {
  const source = template(file);

  it('passes the check the watch file makes when it is loaded', () => {
    expect(templateProblems(source, 'json')).toEqual([]);
  });

  it.each(NOTIFICATIONS)('renders what the system requires for %s', (what, n) => {
    const body = JSON.parse(renderTemplate(source, n, 'json')) as Json;
    requirements(body, what);
  });

  it('carries hostile values through unchanged', () => {
    const rendered = renderTemplate(source, SAMPLES[0]![1], 'json');
    const strings: string[] = [];
    JSON.parse(rendered, (_key, value: unknown) => (typeof value === 'string' && strings.push(value), value));
    expect(strings.some((s) => s.includes(HOSTILE))).toBe(true);
  });
});

describe('the mail template', () => {
  const source = template('email.txt.mustache');

  it('passes the check, and gives a batch\'s failures before its successes', () => {
    expect(templateProblems(source, 'text')).toEqual([]);
    const text = renderTemplate(source, fleetDigest({ type: 'ecs.batch.finished' }), 'text');
    expect(text).toContain('web-01 failed: compute_resize_instance');
    expect(text.indexOf('web-02 timed out')).toBeLessThan(text.indexOf('Succeeded: web-04'));
  });

  it('gives an action\'s failed events with their traceback', () => {
    expect(renderTemplate(source, failedResize(), 'text')).toContain('compute_resize_instance Error:\nTraceback (most recent call last):');
  });
});
