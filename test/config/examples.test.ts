import { readFileSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig, validateConfigText, formatIssue } from '../../src/config/load.ts';
import { watchFileJsonSchema, watchFileJsonSchemaText } from '../../src/config/jsonSchema.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SCHEMA_FILE = resolve(root, 'config/watch.schema.json');
const examples = ['watch.example.yaml', ...readdirSync(resolve(root, 'config')).filter((f) => f.endsWith('.yaml')).map((f) => `config/${f}`)];
const ONLY_THE_CLOUD_CREDENTIAL = { ECS_AUTH_TOKEN: 'a-token' };

const ajv = new Ajv2020({ allErrors: true, strict: false });
const validateJson = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
/** What an editor would flag in `text` as written, `${VAR}` unexpanded. */
function editorErrors(text: string): string[] {
  return validateJson(parse(text)) ? [] : (validateJson.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

describe('config/watch.schema.json', () => {
  it('is what `npm run schema` generates from the zod schema (run it after changing the schema)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(watchFileJsonSchemaText());
  });

  it('takes ${VAR} in any value, including numbers, booleans, enums and checked strings, but not in keys', () => {
    const text = [
      'cloud:',
      '  endpoint: ${ECS_ENDPOINT}',
      '  timeout: ${TIMEOUT:-10s}',
      '  microversion: "${MICROVERSION:-auto}"',
      'poll: { retries: "${RETRIES:-4}" }',
      'notifiers:',
      '  ops: { type: email, smtp: { host: h, port: "${SMTP_PORT}", secure: "${SMTP_SECURE:-false}" }, from: "${FROM}", to: ["${TO}"], on: ["${ON}"] }',
      'http: { port: "${PORT:-9464}", host: "${HOST:-127.0.0.1}" }',
    ].join('\n');
    expect(editorErrors(text)).toEqual([]);
    expect(editorErrors('cloud: { endpoint: "https://x" }\n"${SECTION}": {}\n')).not.toEqual([]);
  });

  it('flags what an editor should: an unknown key, a number without a unit, a wrong type', () => {
    expect(editorErrors('cloud: { endpoint: "https://x", regoin: eu }\n')).toContain('/cloud must NOT have additional properties');
    expect(editorErrors('cloud: { endpoint: "https://x", timeout: 10 }\n').join('\n')).toContain('/cloud/timeout');
    expect(editorErrors('cloud: { endpoint: "https://x" }\nhttp: { port: 99999 }\n').join('\n')).toContain('/http/port');
    expect(editorErrors('cloud: { endpoint: "ftp://x" }\n').join('\n')).toContain('/cloud/endpoint');
    expect(editorErrors('cloud: { endpoint: "https://x" }\nhttp: { host: localhost }\n').join('\n')).toContain('/http/host');
    for (const host of ['0.0.0.0', '127.0.0.1', '::', '::1']) expect(editorErrors(`cloud: { endpoint: "https://x" }\nhttp: { host: "${host}" }\n`)).toEqual([]);
  });

  it('states the defaults an editor offers', () => {
    const schema = watchFileJsonSchema() as { properties: { poll: { properties: Record<string, { default?: unknown }> } } };
    const poll = schema.properties.poll.properties;
    expect([poll.schedule?.default, poll.retries?.default, poll.concurrency?.default, poll.deadline?.default]).toEqual(['*/15 * * * * *', 4, 8, '6h']);
  });
});

describe.each(examples)('%s', (file) => {
  const text = readFileSync(resolve(root, file), 'utf8');

  it('is valid with only the cloud credential set', () => {
    const result = validateConfigText(text, { env: ONLY_THE_CLOUD_CREDENTIAL });
    expect(result.ok ? [] : result.issues.map((i) => formatIssue(i))).toEqual([]);
  });

  it('names the missing cloud credential, and nothing else, when none is set', () => {
    const result = validateConfigText(text, { env: {} });
    expect(result.ok ? [] : result.issues.map((i) => i.message)).toEqual([
      'environment variable ECS_AUTH_TOKEN is not set (use ${ECS_AUTH_TOKEN:-default} for a default)',
    ]);
  });

  it('starts with the yaml-language-server line naming the committed JSON Schema, and passes it', () => {
    const match = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
    expect(match).not.toBeNull();
    expect(resolve(dirname(resolve(root, file)), match![1]!)).toBe(SCHEMA_FILE);
    expect(editorErrors(text)).toEqual([]);
  });

  it('has watches and notifiers to show', () => {
    const config = parseConfig(text, { env: ONLY_THE_CLOUD_CREDENTIAL });
    expect(config.watches.length).toBeGreaterThan(0);
    expect(Object.keys(config.notifiers).length).toBeGreaterThan(0);
  });
});
