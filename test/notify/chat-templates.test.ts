// The ready templates in docs/templates/: each loads (the same check as the watch file's), and renders, for
// every kind of notification, hostile values and the largest real ones, the JSON its chat system's incoming
// webhook requires, within its limits.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NOTIFICATION_TYPES, type OutgoingNotification } from '../../src/model.ts';
import { HOSTILE, SAMPLES } from '../../src/notify/template/samples.ts';
import { renderTemplate, templateProblems } from '../../src/notify/template/template.ts';
import { failedResize, fleetDigest, longFailuresDigest } from './fixtures.ts';

const template = (file: string) => readFileSync(new URL(`../../docs/templates/${file}`, import.meta.url), 'utf8');

// As describeFailure (src/watch/verdict.ts) writes a failure: the failed event with its traceback's last
// line, whole, then the server's fault, which Nova keeps up to 255 characters of.
const resizeFailure = (i: number) =>
  'resize failed: compute_resize_instance Error (traceback ends: nova.exception.ResizeError: Resize error: Unable to resize disk down ' +
  `or not enough disk on host compute-${i}.eu-de-01.internal); server ERROR: ` +
  `Build of instance 0f3c${i}e40-f56e-40f9-8c8c-caa517fe06ba aborted: Failed to allocate the network(s), not rescheduling. Port binding failed for port 5a4299.`;
const inChinese = (i: number) => `resize failed: compute_resize_instance Error; server ERROR: ${'云服务器规格变更失败：主机资源不足，请更换可用区后重试。'.repeat(10).slice(0, 255)} ${i}`;
// A job creating a hundred servers that failed as one, as jobVerdict.ts describes it.
const subJobsFailed = (i: number) =>
  `createServers failed: Ecs.0039 quota exceeded; ${Array.from({ length: 100 }, (_, j) => `createSingleServer on srv-${i}-${j} FAIL: Ecs.0039 quota exceeded`).join('; ')}`;
// Nova's names go up to 255 characters.
const longName = (i: number) => `${'order-service-eu-de-01-az2-'.repeat(10).slice(0, 250)}-${i}`;

/** The samples the loader checks, ordinary ones, and real ones at their largest. */
const NOTIFICATIONS: Array<[string, OutgoingNotification]> = [
  ...SAMPLES,
  ['a success', failedResize({ type: NOTIFICATION_TYPES.success, outcome: 'success', reason: 'resize finished' })],
  ['a slow resize', failedResize({ type: NOTIFICATION_TYPES.slow, outcome: null, server: null, reason: 'resize still running 1 h 4 min after it started' })],
  ['a digest of successes', fleetDigest({ type: 'ecs.batch.finished', counts: { success: 1, failure: 0, timeout: 0, not_found: 0, pending: 0 }, watches: fleetDigest().watches.slice(3) })],
  ['a digest of 12 failures as describeFailure writes them', longFailuresDigest((i) => `resize app-${String(i).padStart(2, '0')}`, resizeFailure)],
  ['a digest of 12 failures in Chinese', longFailuresDigest((i) => `生产环境-订单服务-数据库-${i}`.repeat(6), inChinese)],
  ['a digest of 12 failures with names of 255 characters, or of emoji', longFailuresDigest((i) => (i % 2 ? longName(i) : '🔥'.repeat(100)), subJobsFailed)],
  ['a digest as large as its short fields allow, of quotes, which JSON doubles', longFailuresDigest(() => '"'.repeat(300), () => '"'.repeat(3000))],
  ['a digest as large as its short fields allow, of &, <, >, [ and ], which a chat\'s markup escapes', longFailuresDigest(() => '<&>[]'.repeat(60), () => '<&>[]'.repeat(600))],
  ['a job\'s failure of a hundred sub-jobs', failedResize({ reason: subJobsFailed(1), watch: { ...failedResize().watch, name: longName(1) } })],
];

type Json = Record<string, unknown> & { [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const nonEmpty = (value: unknown) => typeof value === 'string' && value.trim().length > 0;

/** A text as a chat shows it, its markup's entities read (template.ts MARKUP_ESCAPES). */
const entities = (named: Record<string, string>) => (text: string) => text.replace(/&[^;]+;/g, (entity) => named[entity] ?? entity);
const asSlackShows = entities({ '&amp;': '&', '&lt;': '<', '&gt;': '>' });
const asLarkShows = entities({ '&#38;': '&', '&#60;': '<', '&#62;': '>', '&#91;': '[', '&#93;': ']' });
/** A markdown that documents no escape has a zero-width space after `<` and `]` (template.ts MARKDOWN_BREAKS). */
const asMarkdownShows = (text: string) => text.replaceAll('\u200B', '');

/**
 * What each system's incoming webhook requires of a message, from its documentation, given the message and
 * its bytes; and how it shows a text of it.
 */
const SYSTEMS: Array<[string, string, (body: Json, bytes: number) => void, (text: string) => string]> = [
  ['Slack', 'slack.json.mustache', (body) => {
    // `text` is required with blocks (the notification's fallback); at most 50 blocks; text objects 1 to 3000 characters.
    expect(nonEmpty(body.text)).toBe(true);
    expect(body.blocks.length).toBeLessThanOrEqual(50);
    for (const block of body.blocks) {
      expect(['section', 'context']).toContain(block.type);
      const texts = block.type === 'section' ? [block.text] : block.elements;
      for (const text of texts) {
        expect(text.type).toBe('mrkdwn');
        expect(nonEmpty(text.text) && text.text.length <= 3000).toBe(true);
      }
    }
  }, asSlackShows],
  ['Microsoft Teams', 'teams.json.mustache', (body, bytes) => {
    // A Workflows (or connector) webhook takes a message with one Adaptive Card attachment, of 28 KB at most.
    expect(bytes).toBeLessThanOrEqual(28_000);
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
  }, asMarkdownShows],
  ['Feishu / Lark', 'feishu.json.mustache', (body, bytes) => {
    // An interactive card: a header with a plain_text title and a colour template, and elements; 20 KB a request.
    expect(bytes).toBeLessThanOrEqual(20_000);
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
  }, asLarkShows],
  ['DingTalk', 'dingtalk.json.mustache', (body, bytes) => {
    // A markdown message: title (the notification's preview) and text; "ecs-action-watch" works as the
    // robot's keyword. A body over 20,000 bytes is refused (errcode 460101).
    expect(bytes).toBeLessThanOrEqual(20_000);
    expect(body.msgtype).toBe('markdown');
    expect(nonEmpty(body.markdown.title) && nonEmpty(body.markdown.text)).toBe(true);
    expect(body.markdown.text).toContain('ecs-action-watch');
  }, asMarkdownShows],
  ['WeCom', 'wecom.json.mustache', (body) => {
    // A markdown message of at most 4096 bytes (errcode 40058 past that).
    expect(body.msgtype).toBe('markdown');
    expect(nonEmpty(body.markdown.content)).toBe(true);
    expect(Buffer.byteLength(body.markdown.content)).toBeLessThanOrEqual(4096);
  }, asMarkdownShows],
];

describe.each(SYSTEMS)('the %s template', (_system, file, requirements, shows) => {
  const source = template(file);

  it('passes the check the watch file makes when it is loaded', () => {
    expect(templateProblems(source, 'json')).toEqual([]);
  });

  it.each(NOTIFICATIONS)('renders what the system requires for %s', (_what, n) => {
    const rendered = renderTemplate(source, n, 'json');
    requirements(JSON.parse(rendered) as Json, Buffer.byteLength(rendered));
  });

  it('carries hostile values through, on one line', () => {
    const rendered = renderTemplate(source, SAMPLES[0]![1], 'json');
    const strings: string[] = [];
    JSON.parse(rendered, (_key, value: unknown) => (typeof value === 'string' && strings.push(value), value));
    expect(strings.some((s) => shows(s).includes(HOSTILE.replace(/[\s\p{Cc}]+/gu, ' ').trim()))).toBe(true);
  });
});

// A batch of one watch (or a round of one watch joining late) read "1 watches: 1 failed" in each of them.
describe('a digest of one watch', () => {
  const one = fleetDigest({ type: 'ecs.batch.finished', counts: { success: 0, failure: 1, timeout: 0, not_found: 0, pending: 0 }, watches: fleetDigest().watches.slice(0, 1) });

  it.each(['slack.json.mustache', 'feishu.json.mustache', 'dingtalk.json.mustache', 'wecom.json.mustache', 'email.txt.mustache'])('reads "1 watch" in %s', (file) => {
    const mode = file.endsWith('.json.mustache') ? 'json' : 'text';
    // WeCom colours the counts.
    const rendered = renderTemplate(template(file), one, mode).replace(/<font color=\\"\w+\\">/g, '');
    expect(rendered).toContain('1 watch: 1 failed');
    expect(rendered).not.toContain('1 watches');
    expect(renderTemplate(template(file), fleetDigest(), mode).replace(/<font color=\\"\w+\\">/g, '')).toContain('4 watches: 1 failed, 1 timed out, 1 pending, 1 succeeded');
  });
});

describe('names and reasons that hold a chat\'s markup', () => {
  // A link under any text: what a tenant's user can name a server for the ops chat to click.
  const name = '<!channel> & [x](https://e.vil)';
  const reason = 'resize failed: <at id=all></at> & <!here> in <module>, see <https://x|y> or [the console](https://e.vil/login)';
  const action = failedResize({ reason, watch: { ...failedResize().watch, name } });
  const digest = longFailuresDigest(() => name, () => reason);
  /** Every string of a rendered JSON body. */
  const strings = (rendered: string) => {
    const found: string[] = [];
    JSON.parse(rendered, (_key, value: unknown) => (typeof value === 'string' && found.push(value), value));
    return found;
  };

  it('are escaped in Slack\'s text, the fallback included, so that they call nobody and link nowhere', () => {
    for (const n of [action, digest]) {
      const texts = strings(renderTemplate(template('slack.json.mustache'), n, 'json'));
      // mrkdwn's three characters appear only as the entities Slack documents.
      for (const text of texts) expect(text).not.toMatch(/[<>]|&(?!amp;|lt;|gt;)/);
      expect(texts.join('\n')).toContain('&lt;!channel&gt; &amp; [x](https://e.vil)');
    }
    expect(strings(renderTemplate(template('slack.json.mustache'), action, 'json')))
      .toContain('resize failed: &lt;at id=all&gt;&lt;/at&gt; &amp; &lt;!here&gt; in &lt;module&gt;, see &lt;https://x|y&gt; or [the console](https://e.vil/login)');
  });

  it('are escaped in Lark\'s lark_md, links included, and left as they are in its plain_text, which shows text as it is', () => {
    for (const n of [action, digest]) {
      const card = JSON.parse(renderTemplate(template('feishu.json.mustache'), n, 'json')) as Json;
      const texts: Json[] = [card.card.header.title, ...card.card.elements.flatMap((e: Json) => (e.tag === 'div' ? [e.text] : e.elements))];
      for (const text of texts.filter((t) => t.tag === 'lark_md')) expect(text.content).not.toMatch(/[<>[\]]|&(?!#38;|#60;|#62;|#91;|#93;)/);
      expect(texts.find((t) => t.tag === 'plain_text' && t.content.includes(name))).toBeDefined();
    }
    const digestCard = JSON.parse(renderTemplate(template('feishu.json.mustache'), digest, 'json')) as Json;
    expect(digestCard.card.elements[0].text.content).toContain(
      '**&#60;!channel&#62; &#38; &#91;x&#93;(https://e.vil)** failed: resize failed: &#60;at id=all&#62;&#60;/at&#62;',
    );
  });

  it.each([
    ['DingTalk', 'dingtalk.json.mustache', (body: Json): string => body.markdown.text],
    ['WeCom', 'wecom.json.mustache', (body: Json): string => body.markdown.content],
  ])('are broken in %s\'s markdown, so that they link nowhere and call nobody, and show as they are', (_system, file, markdown) => {
    // WeCom reads <@userid> as a mention.
    const calling = failedResize({ reason, watch: { ...failedResize().watch, name: `<@ops-lead> ${name}` } });
    for (const n of [calling, digest]) {
      const text = markdown(JSON.parse(renderTemplate(template(file), n, 'json')) as Json).replace(/<\/?font( color="\w+")?>/g, '');
      // A link or an image needs `](`, an HTML tag or a mention `<` and what follows.
      expect(text).not.toMatch(/\]\(|<(?!\u200B)/);
      expect(asMarkdownShows(text)).toContain(n === digest ? `**${name}** failed: ${reason}` : reason);
    }
    expect(asMarkdownShows(markdown(JSON.parse(renderTemplate(template(file), calling, 'json')) as Json))).toContain('<@ops-lead>');
  });

  it('are broken in Teams\' Adaptive Card markdown, so that they link nowhere, and show as they are', () => {
    for (const n of [action, digest]) {
      const card = (JSON.parse(renderTemplate(template('teams.json.mustache'), n, 'json')) as Json).attachments[0].content;
      // Markdown is read in a TextBlock's text and a fact's value.
      const texts: string[] = card.body.flatMap((e: Json) => (e.type === 'TextBlock' ? [e.text] : e.facts.map((f: Json) => f.value)));
      for (const text of texts) expect(text).not.toMatch(/\]\(/);
      expect(texts.map(asMarkdownShows)).toContain(n === digest ? `**${name}** failed: ${reason}` : reason);
    }
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
