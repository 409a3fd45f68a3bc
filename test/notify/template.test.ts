import { describe, expect, it } from 'vitest';
import { NOTIFICATION_TYPES } from '../../src/model.ts';
import { HOSTILE, SAMPLES } from '../../src/notify/template/samples.ts';
import { jsonProblem, RENDER_LIMITS, renderTemplate, templateProblems } from '../../src/notify/template/template.ts';
import { SHORT_BYTES, viewOf } from '../../src/notify/template/view.ts';
import { failedResize, fleetDigest, largeFleetDigest } from './fixtures.ts';

describe('a chat\'s markup section, {{#slack}} or {{#larkMd}}', () => {
  const n = failedResize({ reason: 'disk <full> & gone' });
  n.watch.name = '<!channel>';

  it('escapes every value within it as that chat documents, in lists too; what is outside, the template\'s own text and triple braces stay as they are', () => {
    const out = renderTemplate(
      '{"slack": "{{#slack}}<{{watch.name}}> {{reason}}:{{#events}}{{#failed}} {{event}}={{result}}{{/failed}}{{/events}}{{/slack}}", '
        + '"lark": "{{#larkMd}}{{reason}}{{/larkMd}}", "raw": "{{#slack}}{{{watch.name}}}{{/slack}}", "outside": "{{reason}}"}',
      n, 'json',
    );
    expect(JSON.parse(out)).toEqual({
      slack: '<&lt;!channel&gt;> disk &lt;full&gt; &amp; gone: compute_resize_instance=Error',
      lark: 'disk &#60;full&#62; &#38; gone',
      raw: '<!channel>',
      outside: 'disk <full> & gone',
    });
    expect(renderTemplate('{{#slack}}{{watch.name}}{{/slack}}', n, 'text')).toBe('&lt;!channel&gt;');
  });

  it('is checked as the rest: inside a batch\'s list, its items\' own fields are fine, and what repeats the batch is still refused', () => {
    expect(templateProblems('{"t": "{{#batch.failures}}{{#slack}}{{label}}: {{reason}}{{/slack}}{{/batch.failures}}"}', 'json')).toEqual([]);
    expect(templateProblems('{"t": "{{#batch.failures}}{{#slack}}{{text}}{{/slack}}{{/batch.failures}}"}', 'json')).toEqual([
      expect.stringMatching(/^template line 1, column 37: \{\{text\}\} inside \{\{#batch\.failures\}\} repeats the whole batch for every item/),
    ]);
  });
});

describe('a webhook template', () => {
  it('escapes each value as the inside of a JSON string, whatever it holds', () => {
    const n = failedResize({ reason: HOSTILE });
    n.watch.name = HOSTILE;
    const out = renderTemplate('{"title": "{{headline}}", "reason": "{{reason}}", "name": "{{watch.name}}", "n": {{events.length}}}', n, 'json');
    expect(JSON.parse(out)).toEqual({ title: `resize failed: ${HOSTILE.replace(/\s+/g, ' ').trim()}`, reason: HOSTILE, name: HOSTILE, n: 2 });
  });

  it('inserts a value as it is with triple braces: the contract body, embedded', () => {
    const out = renderTemplate('{"msg": "{{headline}}", "event": {{{body}}}}', failedResize(), 'json');
    expect(JSON.parse(out).event).toMatchObject({ type: 'ecs.action.failed', outcome: 'failure', watch: { name: 'web-01' } });
  });

  it('lists with separators between items only, so that a JSON list stays valid', () => {
    const out = renderTemplate('[{{#batch.watches}}"{{label}}"{{^last}},{{/last}}{{/batch.watches}}]', fleetDigest(), 'json');
    expect(JSON.parse(out)).toEqual(['web-01', 'web-02', 'web-03', 'web-04']);
  });

  it('is accepted when it renders JSON for every kind of notification', () => {
    expect(templateProblems('{"text": "{{summary}}", "kind": "{{type}}"{{#isBatch}}, "failed": {{batch.counts.failure}}{{/isBatch}}}', 'json')).toEqual([]);
  });

  it.each([
    ['{"text": "{{headline}}"', /^template line 1, column 24: does not render valid JSON for an action's success with every field set \(and 54 other kinds of notification\): .* at line 1, column \d+ of the output/],
    ['{"text": {{{reason}}}}', /^template line 1, column 10: \{\{\{reason\}\}\} does not write valid JSON there for an action's success .*write text values in quotes as "\{\{field\}\}"/],
    ['{"text": "{{headline}"}', /^template line 1, column 11: a tag opened with \{\{ is not closed with \}\}$/],
    ['{"a": 1,\n "b": "{{#batch}}x"}', /^template line 2, column 8: the section \{\{#batch\}\} is not closed: add \{\{\/batch\}\}$/],
    ['{"a": "{{/isBatch}}"}', /^template line 1, column 8: \{\{\/isBatch\}\} closes a section that is not open/],
    ['{\n  "text": "{{wach.name}}"\n}', /^template line 2, column 12: unknown field 'wach\.name' \(the fields are listed in the README/],
    ['{"text": "{{#batch.watches}}{{lable}}{{/batch.watches}}"}', /^template line 1, column 29: unknown field 'lable'/],
    ['{"text": "{{> header}}"}', /^template line 1, column 11: \{\{> header\}\} includes a partial/],
    // It said "template: Invalid tags: <%%>", with no place and no fix.
    ['{"a": 1,\n "b": "{{=<%%>=}}"}', /^template line 2, column 8: \{\{=<%%>=\}\} sets the tags to '<%%>', not to two tags with a space between them: write them so, as \{\{=<% %>=\}\}$/],
  ])('refuses %j, saying where and why', (source, problem) => {
    const problems = templateProblems(source, 'json');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
  });

  // mustache.js finds a name with `in`, so what every object inherits passed the check and rendered
  // "[object Object]", "{}" or "false"; a method of a list (`events.map`) was called, and `validate`
  // stopped with "undefined is not a function".
  it.each([
    ['{{constructor}}', 'constructor'], ['{{toString}}', 'toString'], ['{{hasOwnProperty}}', 'hasOwnProperty'],
    ['{{__proto__}}', '__proto__'], ['{{valueOf}}', 'valueOf'], ['{{#watch}}{{constructor}}{{/watch}}', 'constructor'],
    ['{{#events}}{{toString}}{{/events}}', 'toString'], ['{{watch.constructor.name}}', 'watch.constructor.name'],
    ['{{events.map}}', 'events.map'], ['{{^isPrototypeOf}}x{{/isPrototypeOf}}', 'isPrototypeOf'],
  ])('refuses %j, a name every object inherits, as an unknown field', (source, name) => {
    const unknown = expect.stringContaining(`: unknown field '${name}' (the fields are listed in the README`);
    expect(templateProblems(source, 'text')).toEqual([unknown]);
    expect(templateProblems(`{"a": "${source}"}`, 'json')).toEqual([unknown]);
  });

  it('takes the own fields of a value as before: a list\'s or a text\'s length, an item of a list', () => {
    expect(templateProblems('{{events.length}} {{headline.length}} {{events.0.event}} {{#batch.watches}}{{label}}{{/batch.watches}}', 'text')).toEqual([]);
  });

  it('says where an unexpected token is, in one line, where JSON.parse quotes the text around it, line breaks and all', () => {
    const problems = templateProblems('{"text": "{{watch.name}}",\n "x": {{{reason}}} }', 'json');
    expect(problems).toHaveLength(1);
    expect(problems[0]).not.toContain('\n');
    expect(problems[0]).toMatch(/^template line 2, column 7: \{\{\{reason\}\}\} does not write valid JSON there for an action's success with every field set \(and 54 other kinds of notification\): Unexpected token '.' at line 2, column 7 of the output, near: [^\n]*"x": /);
  });

  // JSON.parse reads any depth and gives no position for an unexpected token: the position was then
  // found by a recursion, which ran out of stack, and `validate` stopped with a RangeError. 30,000 deep: that
  // recursion followed 7,000 and ran out at 10,000; 100,000 cost the file 2 s more of processor.
  it('says where the JSON breaks however deep it is nested', () => {
    expect(templateProblems(`${'['.repeat(30_000)}x`, 'json')).toEqual([
      expect.stringMatching(/^template line 1, column 30001: does not render valid JSON for .*: Unexpected token 'x' at line 1, column 30001 of the output, near: \[+x$/),
    ]);
  });

  // A receiver that takes its key in the body (PagerDuty's routing_key): `validate` and the log of a reload
  // quote the output near where its JSON breaks, which is the key as often as not.
  it('hides, near where the JSON breaks, a value under a key whose name says it is a credential', () => {
    const problems = templateProblems('{"routing_key": "R0ut1ngKey-5e3d9a" "payload": {"summary": "{{headline}}"}}', 'json');
    expect(problems).toEqual([
      "template line 1, column 37: does not render valid JSON for an action's success with every field set (and 54 other kinds of notification): "
        + 'Expected \',\' or \'}\' after property value at line 1, column 37 of the output, near: ing_key": "<hidden>" "payload":',
    ]);
  });

  // A value the template escapes (a fault's details: a traceback quoting its strings) is full of \": a look
  // for a key and its value that started at each of those quotes read on to the end of the string from each.
  it('finds the credentials near where the JSON breaks in an output of many escaped quotes at once', () => {
    const output = `{"details": ["${'x\\" '.repeat(100_000)}"], "token": "T0ken-5e3d9a" "payload": 1}`;
    let err: unknown;
    try {
      JSON.parse(output);
    } catch (e) {
      err = e;
    }
    const started = performance.now();
    const problem = jsonProblem(output, err);
    // A look from each quote took 9.8 s for 40,000 of them, and grows with their square: about a minute here.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(problem).toMatch(/near: .*"token": "<hidden>" "payload"/);
    expect(problem).not.toContain('T0ken');
  });

  // The README advises numbers without quotes; a number a notification may lack (a server without a
  // fault, every success) then leaves `"faultCode": }`, which the receiver would refuse.
  it('refuses a value, or a section, that writes nothing where JSON needs something for some kind of notification, saying which and how to fix it', () => {
    expect(templateProblems('{"text": "{{headline}}"{{#server}}, "faultCode": {{server.faultCode}}{{/server}}}', 'json')).toEqual([
      "template line 1, column 50: {{server.faultCode}} writes nothing for an action's success with empty fields (no name, a server without a fault or task state, "
        + 'an event without result, times or traceback, a job without codes) (and 11 other kinds of notification), where JSON needs something: '
        + 'Unexpected token \'}\' at line 1, column 81 of the output, near: c-caa517fe06ba", "faultCode": } '
        + '(write it in quotes, "{{server.faultCode}}", or, with its key, inside {{#server.faultCode}}...{{/server.faultCode}})',
    ]);
    const fixed = '{"text": "{{headline}}"{{#server.faultCode}}, "faultCode": {{server.faultCode}}{{/server.faultCode}}}';
    expect(templateProblems(fixed, 'json')).toEqual([]);
    const success = failedResize({ type: NOTIFICATION_TYPES.success, outcome: 'success', reason: 'resize finished', server: { status: 'ACTIVE', taskState: null, fault: null } });
    expect(JSON.parse(renderTemplate(fixed, success, 'json'))).toEqual({ text: 'resize succeeded: web-01' });
    expect(JSON.parse(renderTemplate(fixed, failedResize(), 'json'))).toEqual({ text: 'resize failed: web-01', faultCode: 500 });
  });

  it.each([
    ['{"traceback": {{#events.0}}"{{traceback}}"{{/events.0}}}', 'line 1, column 15: {{#events.0}}', "an action's success with empty lists"],
    ['{"job": "{{watch.jobId}}", "errorCode": {{#job}}"{{errorCode}}"{{/job}}}', 'line 1, column 41: {{#job}}', "an action's success with every field set"],
    ['{{#isBatch}}{"first": {{#batch.firstFailures}}{{#first}}"{{label}}"{{/first}}{{/batch.firstFailures}}}{{/isBatch}}{{^isBatch}}{}{{/isBatch}}', 'line 1, column 23: {{#batch.firstFailures}}', 'a batch digest in which every watch succeeded'],
    ['{"code": {{#server}}{{server.faultCode}}{{/server}}{{^server}}null{{/server}}}', 'line 1, column 21: {{server.faultCode}}', "an action's success with empty fields"],
    ['{"more": {{#isBatch}}{{batch.moreFailures}}{{/isBatch}}{{^isBatch}}0{{/isBatch}}, "last": {{#events}}{{#last}}"{{event}}"{{/last}}{{/events}}}', 'line 1, column 91: {{#events}}', "an action's success with empty lists"],
  ])('checks %j against every shape of every kind of notification: absent objects, empty fields, empty lists', (source, where, what) => {
    const problems = templateProblems(source, 'json');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^template ${where.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} writes nothing for ${what}`));
  });
  // Every job sample had one sub-job: a list written without separators passed the check, and every job
  // that created two servers or more sent `["server a""server b"]`, given up when its outcome came.
  it("refuses a list that breaks JSON only from its second item on: a job's sub-jobs", () => {
    const problems = templateProblems('{"subJobs": [{{#job.subJobs}}"{{entity}}"{{/job.subJobs}}]}', 'json');
    expect(problems).toEqual([expect.stringMatching(/^template line 1, column 30: does not render valid JSON for a job's success with every field set \(and 4 other kinds of notification\): Expected ',' or '\]' after array element at line 1, column 28 of the output, near: .*"server srv-1""server/)]);
    expect(templateProblems('{"subJobs": [{{#job.subJobs}}"{{entity}}"{{^last}},{{/last}}{{/job.subJobs}}]}', 'json')).toEqual([]);
  });
  // No sample digest had a watch not found: a section shown only then, as counts are listed one by one,
  // passed the check however it wrote JSON, and the first digest with one was given up.
  it('refuses a section over a digest\'s count that only a watch not found shows', () => {
    const source = '{"failed": {{#batch}}{{counts.failure}}{{#counts.notFound}} "notFound": {{counts.notFound}}{{/counts.notFound}}{{/batch}}{{^batch}}0{{/batch}}}';
    expect(templateProblems(source, 'json')).toEqual([expect.stringMatching(/^template line 1, column 61: does not render valid JSON for a batch digest with every field set \(and 7 other kinds of notification\): Expected .,. or .}. after property value at line 1, column 14 of the output, near: {"failed": 2 "notFound"$/)]);
    expect(templateProblems(source.replace(' "notFound"', ', "notFound"'), 'json')).toEqual([]);
  });
});

describe('a template over a batch', () => {
  it.each([
    ['{{#batch.watches}}\n{{#batch.watches}}{{label}}{{/batch.watches}}{{/batch.watches}}', 'line 2, column 1: {{#batch.watches}} inside {{#batch.watches}}'],
    ['{{#batch.failures}}{{#batch.watches}}{{label}}{{/batch.watches}}{{/batch.failures}}', 'line 1, column 20: {{#batch.watches}} inside {{#batch.failures}}'],
    ['{{#batch}}{{#watches}}{{#batch}}{{#successes}}.{{/successes}}{{/batch}}{{/watches}}{{/batch}}', 'line 1, column 23: {{#batch}} inside {{#watches}}'],
    ['{{#batch.watches}}{{#events}}{{{text}}}{{/events}}{{/batch.watches}}', 'line 1, column 30: {{{text}}} inside {{#batch.watches}}'],
    ['{{#batch.pending}}{{body}}{{/batch.pending}}', 'line 1, column 19: {{body}} inside {{#batch.pending}}'],
    ['{{#batch.watches}}{{#text}}{{.}}{{/text}}{{/batch.watches}}', 'line 1, column 19: {{#text}} inside {{#batch.watches}}'],
    ['{{#batch.watches}}{{#body}}{{.}}{{/body}}{{/batch.watches}}', 'line 1, column 19: {{#body}} inside {{#batch.watches}}'],
    ['{{#batch.watches}}{{batch}}{{/batch.watches}}', 'line 1, column 19: {{batch}} inside {{#batch.watches}}'],
    ['{{#batch.failures}}{{#watch}}{{{batch.watches}}}{{/watch}}{{/batch.failures}}', 'line 1, column 30: {{{batch.watches}}} inside {{#batch.failures}}'],
  ])('refuses %j, which repeats the whole batch for every watch', (source, where) => {
    expect(templateProblems(source, 'text')).toEqual([
      `template ${where} repeats the whole batch for every item (a section over a batch's list inside another, or {{{text}}} or {{{body}}} inside one, repeats the whole batch for every watch): close the list's section first, or use the item's own fields`,
    ]);
  });

  it("follows a section into every item of a list: a job's fields, where the first watch is an action's", () => {
    expect(templateProblems('{{#batch.failures}}{{#job}}{{#subJobs}}{{entity}}: {{failure}}{{/subJobs}}{{/job}}{{/batch.failures}}', 'text')).toEqual([]);
  });

  it("accepts an item's own lists and objects, and the batch's small values, inside a list", () => {
    const source = '{{#batch.watches}}{{batch.label}} {{label}} {{#watch}}{{name}}{{/watch}} {{#events}}{{event}} {{headline}}{{/events}}{{#isBatch}}.{{/isBatch}}{{/batch.watches}}{{#events}}{{#server}}{{status}}{{/server}}{{/events}}';
    expect(templateProblems(source, 'text')).toEqual([]);
    // The batch's counts are a few numbers, whether read one by one or in a section.
    expect(templateProblems('{{#batch.watches}}{{label}} ({{#batch.counts}}{{failure}} of {{batch.total}} failed{{/batch.counts}}){{/batch.watches}}', 'text')).toEqual([]);
    expect(templateProblems('{{#batch}}{{#watches}}{{label}}: {{#counts}}{{failure}}{{/counts}} {{countsText}}{{/watches}}{{/batch}}', 'text')).toEqual([]);
  });

  it('stops a render that goes past its limit, so that it cannot hold the daemon for minutes', () => {
    // Refused by the load's check; rendered unchecked, it would go through 400³ sections.
    const nested = '{{#batch.watches}}{{#batch.watches}}{{#batch.watches}}{{/batch.watches}}{{/batch.watches}}{{/batch.watches}}';
    expect(() => renderTemplate(nested, largeFleetDigest(400), 'text')).toThrow(`its template renders more than ${RENDER_LIMITS.tokens.toLocaleString('en')} values and sections for this notification`);
    expect(renderTemplate('{{#batch.watches}}{{label}},{{/batch.watches}}', largeFleetDigest(10_000), 'text')).toHaveLength(88_890);
  });

  it('sends a digest whose own body is larger than the cap, as it would be sent without a template', () => {
    // A fleet that failed as one (a quota, a host aggregate), each failure with a Nova traceback of 4 kB.
    const traceback = `Traceback (most recent call last):\n${'  File "/usr/lib/python3/dist-packages/nova/compute/manager.py", line 5201, in _resize_instance\n'.repeat(40)}`;
    const failed = failedResize();
    const action = { ...failed.instanceAction!, events: failed.instanceAction!.events!.map((e) => (e.traceback ? { ...e, traceback } : e)) };
    const digest = fleetDigest({
      watches: Array.from({ length: 5000 }, (_, i) => ({ watch: { ...failed.watch, name: `web-${i}` }, outcome: 'failure' as const, reason: failed.reason, detectedAt: failed.detectedAt, instanceAction: action, server: failed.server })),
      counts: { success: 0, failure: 5000, timeout: 0, not_found: 0, pending: 0 },
    });
    const body = viewOf(digest).body;
    expect(body.length).toBeGreaterThan(RENDER_LIMITS.characters);
    expect(renderTemplate('{"source": "ecs-action-watch", "event": {{{body}}}}', digest, 'json')).toBe(`{"source": "ecs-action-watch", "event": ${body}}`);
    // A template that writes neither has the same limit: text and body are built for it once it passes the cap.
    expect(renderTemplate('{{#batch.failures}}{{.}}{{/batch.failures}}', digest, 'text').length).toBeGreaterThan(RENDER_LIMITS.characters);
    // Written over and over, it is still stopped.
    expect(() => renderTemplate('{{#batch.failures}}{{#watch}}{{label}}{{/watch}}{{/batch.failures}}{{{body}}}{{{body}}}{{{text}}}{{{text}}}{{{body}}}', digest, 'json')).toThrow(/its template renders more than \d+ MiB for this notification/);
  });
});

describe('a mail template', () => {
  it('writes values as they are, and may name every field of the view', () => {
    expect(templateProblems('{{headline}}\n{{#events}}{{event}}: {{result}}{{/events}}\n{{#batch.failures}}{{label}} {{reason}}{{/batch.failures}}', 'text')).toEqual([]);
    expect(renderTemplate('{{reason}} & <b>', failedResize({ reason: 'a "b" <c>' }), 'text')).toBe('a "b" <c> & <b>');
  });
});

describe('the view', () => {
  it('gives every notification kind its flags', () => {
    const kinds = SAMPLES.filter(([what]) => what.endsWith(' with every field set')).map(([what, n]) => {
      const v = viewOf(n) as Record<string, unknown>;
      return [what.replace(/ with every field set$/, ''), v['isAction'], v['isSlow'], v['isBatch'], v['isPartial'], v['isTest'], v['severity']];
    });
    expect(kinds).toEqual([
      ["an action's success", true, false, false, false, false, 'ok'],
      ["an action's failure", true, false, false, false, false, 'problem'],
      ['an action that timed out', true, false, false, false, false, 'problem'],
      ['an action not found', true, false, false, false, false, 'problem'],
      ['an early warning of an action', false, true, false, false, false, 'warning'],
      ['a test notification', false, false, false, false, true, 'ok'],
      ["a job's success", true, false, false, false, false, 'ok'],
      ["a job's failure", true, false, false, false, false, 'problem'],
      ['a job that timed out', true, false, false, false, false, 'problem'],
      ['a job not found', true, false, false, false, false, 'problem'],
      ['an early warning of a job', false, true, false, false, false, 'warning'],
      ['a batch digest', false, false, true, false, false, 'problem'],
      ['a partial batch digest', false, false, true, true, false, 'problem'],
    ]);
  });

  it('sums a batch up for a chat line: the first failures, then how many more', () => {
    const many = fleetDigest({
      watches: Array.from({ length: 12 }, (_, i) => ({ watch: { name: `w${i}`, projectId: 'p', serverId: `s${i}`, requestId: `r${i}` }, outcome: 'failure' as const, reason: 'boom', detectedAt: null })),
    });
    const v = viewOf(many) as { summary: string; batch: { firstFailures: unknown[]; moreFailures: number } };
    expect(v.batch.firstFailures).toHaveLength(10);
    expect(v.batch.moreFailures).toBe(2);
    expect(v.summary.split('\n').slice(-2)).toEqual(['- w9: boom', '- and 2 more']);
  });

  // A reason may hold line breaks (a libvirt error as the server's fault, a job's fail_reason): the next
  // line read as another watch's failure, and a bidi override reordered what followed it.
  it('sums a batch up one failure a line, whatever its reason holds', () => {
    const failed = fleetDigest().watches[0]!;
    const digest = fleetDigest({ watches: [{ ...failed, reason: 'server ERROR: internal error: process exited\n- web-02: \u202Eok' }] });
    expect(viewOf(digest).summary.split('\n')).toEqual([
      'batch fleet-resize still running: 1 failed, 1 timed out, 1 pending, 1 succeeded',
      '- web-01: server ERROR: internal error: process exited - web-02: [U+202E]ok',
    ]);
  });

  it('gives a chat message fields cut to fit it, and the whole ones as they were', () => {
    const name = `order-service-${'eu-de-01-az2-'.repeat(10)}blue-07`;
    const reason = `resize failed: ${'compute_resize_instance Error (Resize error: not enough disk); '.repeat(50)}`;
    const failed = failedResize({ reason, watch: { ...failedResize().watch, name } });
    const v = viewOf(failed) as { headline: string; shortHeadline: string; reason: string; shortReason: string };
    expect([v.headline, v.reason]).toEqual([`resize failed: ${name}`, reason]);
    // A name keeps both ends, which tell a fleet's apart.
    expect(v.shortHeadline).toBe('resize failed: order-service-eu-de-01-az2-eu-d…de-01-az2-eu-de-01-az2-blue-07');
    expect(v.shortReason).toMatch(/^resize failed: compute_resize_instance Error .*…$/);
    expect(Buffer.byteLength(v.shortReason)).toBeLessThanOrEqual(SHORT_BYTES.ownReason);
    const digest = viewOf(fleetDigest({ watches: [{ ...fleetDigest().watches[0]!, watch: failed.watch, reason }] })) as {
      batch: { firstFailures: Array<{ label: string; shortLabel: string; reason: string; shortReason: string }>; failures: Array<Record<string, unknown>> };
    };
    const [first] = digest.batch.firstFailures;
    expect([first!.label, first!.reason]).toEqual([name, reason]);
    expect(first!.shortLabel).toBe('order-service-eu-de-01-az2-eu-d…de-01-az2-eu-de-01-az2-blue-07');
    expect(Buffer.byteLength(first!.shortReason)).toBeLessThanOrEqual(SHORT_BYTES.reason);
    // Only a list of bounded length keeps a message within bounds: the others have no short fields.
    expect(digest.batch.failures[0]).not.toHaveProperty('shortReason');
  });

  // The README's rule for the view, which lets a template test a value with a section: a time the API left
  // out was the word "unknown", where a receiver of a JSON template reads a time or nothing.
  it("gives '' for a time the API did not give, as for every value absent", () => {
    const n = failedResize();
    n.instanceAction!.start_time = null;
    n.instanceAction!.events![0]!.start_time = null;
    expect(renderTemplate('{{action.startTime}}|{{#events}}{{startTime}},{{finishTime}};{{/events}}', n, 'text'))
      .toBe('|,2026-11-26T17:50:09.123Z;2026-11-26T17:50:10.000Z,2026-11-26T17:51:02.000Z;');
  });

  // The same rule: an event still running was "in progress", so that {{^result}} never showed and a
  // template could not tell a running step from one whose result is those words.
  it("gives '' for the result of an event still running", () => {
    const n = failedResize();
    n.instanceAction!.events![1] = { ...n.instanceAction!.events![1]!, finish_time: null, result: null, traceback: null };
    expect(renderTemplate('{{#events}}{{event}}={{result}}{{^result}}running{{/result}},{{failed}};{{/events}}', n, 'text'))
      .toBe('compute_prep_resize=Success,false;compute_resize_instance=running,false;');
  });

  // A job's times were the API's text as it came, where the action's, its events' and the mail's (Began,
  // Ended) are UTC, in one form: Huawei's services write them with or without milliseconds, or an offset.
  it('gives a job\'s times in UTC, in the form of the action\'s, and \'\' for one left blank', () => {
    const job = {
      ...failedResize(), instanceAction: null, server: null, watch: { kind: 'ecs-job' as const, name: 'batch', projectId: 'p', jobId: 'j1' },
      job: { status: 'RUNNING', job_id: 'j1', job_type: null, begin_time: '2026-11-30T10:00:00Z', end_time: '2026-11-30T18:05:00.000+08:00', error_code: null, fail_reason: null, entities: {} },
    };
    expect(renderTemplate('{{job.beginTime}}|{{job.endTime}}', job, 'text')).toBe('2026-11-30T10:00:00.000Z|2026-11-30T10:05:00.000Z');
    job.job.end_time = ' ';
    expect(renderTemplate('{{job.endTime}}{{^job.endTime}}not yet{{/job.endTime}}', job, 'text')).toBe('not yet');
  });

  it('is the same for a test notification as for any other, so that notify-test tries the template', () => {
    const test = { ...failedResize(), type: NOTIFICATION_TYPES.test, outcome: null };
    expect(renderTemplate('{{#isTest}}test{{/isTest}}: {{headline}}', test, 'text')).toBe('test: test notification: web-01');
  });
});
