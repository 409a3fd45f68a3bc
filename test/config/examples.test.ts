import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { makeCertificates } from '../certificates.ts';
import { alternatives, isObject, schemaKeys, type Json } from './schemaKeys.ts';
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

/** Each value of `data` (keys and list items), with where it is and the key of the JSON Schema it is under. */
function valuesOf(node: Json, data: unknown, at: (string | number)[] = [], key = ''): Array<{ at: (string | number)[]; key: string }> {
  const found: Array<{ at: (string | number)[]; key: string }> = [];
  const each = alternatives(node);
  if (Array.isArray(data)) {
    const items = each.map((n) => n.items).find(isObject);
    data.forEach((item, i) => {
      found.push({ at: [...at, i], key: `${key}[]` });
      if (items) found.push(...valuesOf(items, item, [...at, i], `${key}[]`));
    });
  } else if (isObject(data)) {
    for (const [name, value] of Object.entries(data)) {
      // Every alternative that names the key (a notifier's `template` is the email's or the webhook's), else a mapping's values.
      const named = each.map((n) => (isObject(n.properties) ? n.properties[name] : undefined)).filter(isObject);
      const children = named.length > 0 ? named : each.map((n) => n.additionalProperties).filter(isObject);
      const childKey = `${key}.${named.length > 0 ? name : '*'}`;
      found.push({ at: [...at, name], key: childKey });
      found.push(...valuesOf({ anyOf: children }, value, [...at, name], childKey));
    }
  }
  return found;
}

/** A key taken out of the file. */
const LEFT_OUT = Symbol('left out');

/** `data` with the value at `at` replaced, or the key there left out. */
function replaced(data: Json, at: (string | number)[], value: unknown): Json {
  const copy = structuredClone(data);
  let parent: Record<string | number, unknown> = copy;
  for (const step of at.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  if (value === LEFT_OUT) delete parent[at.at(-1)!];
  else parent[at.at(-1)!] = value;
  return copy;
}

describe('config/watch.schema.json against validate, key by key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eaw-every-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const secret = (name: string) => {
    writeFileSync(join(dir, name), 'a-secret\n');
    return join(dir, name);
  };
  const cloudsYaml = join(dir, 'clouds.yaml');
  writeFileSync(cloudsYaml, 'clouds:\n  lab:\n    auth: { auth_url: "https://keystone.test/v3", username: u, password: p, project_id: x, user_domain_name: Default }\n');
  const cloud = { endpoint: 'https://ecs.test', projectId: 'p1', region: 'eu-de', interface: 'public', microversion: 'auto', timeout: '10s' };
  const templates = (name: string) => resolve(root, 'docs/templates', name);
  // Between them, every key of the file (the test below fails for one left out), each set to a value validate takes.
  const files: Json[] = [
    {
      cloud: { ...cloud, auth: { type: 'token', token: 't' }, tls: { caFile: makeCertificates(dir).caFile } },
      poll: { schedule: '*/15 * * * * *', retries: 4, concurrency: 8, rateLimit: '50/s', deadline: '6h', warnAfter: '20m', batchWindow: '2h' },
      notifiers: {
        mail: {
          type: 'email',
          smtp: { host: 'smtp.test', port: 587, secure: false, user: 'u', password: 'p', timeout: '30s', connections: 3 },
          from: 'Ops <ops@example.com>',
          to: ['ops@example.com'],
          on: ['success', 'slow'],
          template: { subject: '{{headline}}', text: '{{reason}}' },
        },
        chat: { type: 'webhook', url: 'https://hooks.test/ecs', secret: 'whsec_AAAA', headers: { 'X-Team': 'infra' }, timeout: '10s', on: ['failure'], template: { body: '{"text": "{{headline}}"}' } },
      },
      delivery: { maxAge: '24h', minDelay: '1s', maxDelay: '5m' },
      state: { path: './state.json', retention: '7d' },
      shutdown: { drainTimeout: '10s' },
      http: { port: 9464, host: '::' },
      watches: [
        { kind: 'instance-action', requestId: 'req-1', serverId: 'srv-1', name: 'n', projectId: 'p1', notify: ['mail'], deadline: '1h30m', warnAfter: 'off', batch: 'b', batchWindow: '1h' },
        { kind: 'ecs-job', jobId: 'job-1', name: 'j' },
      ],
      track: [
        { servers: ['srv-1'], projectId: 'p1', actions: ['resize'], notify: ['chat'], deadline: '2h' },
        { project: 'all', projectId: 'p2' },
      ],
    },
    {
      cloud: { ...cloud, auth: { type: 'password', identityEndpoint: 'https://iam.test/v3', user: 'u', domain: 'd', password: 'p', projectName: 'eu-de', projectDomain: 'd' } },
      poll: { warnAfter: { resize: '2h', other: 'off' } },
      notifiers: {
        mail: { type: 'email', smtp: { host: 'smtp.test' }, from: 'ops@example.com', to: ['ops@example.com'], template: { textFile: templates('email.txt.mustache') } },
        chat: { type: 'webhook', url: 'https://hooks.test/ecs', template: { bodyFile: templates('slack.json.mustache') } },
      },
    },
    { cloud: { ...cloud, auth: { type: 'password', identityEndpoint: 'https://iam.test/v3', userId: 'u', domainId: 'd', passwordFile: secret('password'), projectId: 'p1', projectDomainId: 'd' } }, poll: { warnAfter: 'auto' } },
    { cloud: { ...cloud, auth: { type: 'aksk', accessKey: 'a', secretKey: 's', securityToken: 't' } } },
    { cloud: { ...cloud, auth: { type: 'aksk', accessKeyFile: secret('ak'), secretKeyFile: secret('sk'), securityTokenFile: secret('st') } } },
    { cloud: { ...cloud, auth: { type: 'token', tokenFile: secret('token') } } },
    { cloud: { ...cloud, auth: { type: 'none' } } },
    // The profile gives the auth and the project.
    { cloud: { endpoint: cloud.endpoint, cloudsYaml, cloud: 'lab' } },
  ];
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Json;
  // As an operator's shell may have it: a file without cloud.auth then takes its cloud from that profile.
  const env = { OS_CLOUD: 'lab', OS_CLIENT_CONFIG_FILE: cloudsYaml };
  const validates = (data: Json) => validateConfigText(stringify(data), { env }).ok;

  it('the files below are valid and name every key of the schema', () => {
    expect(files.filter((data) => !validates(data) || editorErrors(stringify(data)).length > 0)).toEqual([]);
    const named = new Set(files.flatMap((data) => valuesOf(schema, data).map((v) => v.key)));
    expect([...schemaKeys(schema).keys()].filter((key) => !named.has(key))).toEqual([]);
  });

  /** Other ways to write `value` that validate may take as well. */
  const otherSpellings = (value: unknown, at: readonly (string | number)[]): unknown[] => [
    // The key left out (not an item of a list), written with nothing after it, or "", where that means left out.
    ...(typeof at.at(-1) === 'string' ? [LEFT_OUT] : []),
    null,
    '',
    // A number or true/false as text, as a ${VAR} gives it and YAML reads it quoted, with spaces around, in capitals.
    ...(typeof value === 'number' || typeof value === 'boolean' ? [String(value), ` ${value} `, String(value).toUpperCase()] : []),
    // A text with spaces around (copied along), in capitals.
    ...(typeof value === 'string' ? [` ${value} `, value.toUpperCase()] : []),
  ];

  it('takes every value validate takes: a key left out or with nothing after it, a number or true/false written as text, a text with spaces around or in capitals', () => {
    const flagged: string[] = [];
    // The cloud's keys of every file but the one that names them first are the same keys again.
    const tried = new Set<string>();
    for (const data of files) {
      for (const { at, key } of valuesOf(schema, data)) {
        let value: unknown = data;
        for (const step of at) value = (value as Record<string | number, unknown>)[step];
        for (const variant of otherSpellings(value, at)) {
          const shown = variant === LEFT_OUT ? 'left out' : `= ${JSON.stringify(variant)}`;
          const attempt = JSON.stringify([at, shown]);
          if (tried.has(attempt)) continue;
          tried.add(attempt);
          const changed = replaced(data, at, variant);
          if (!validates(changed)) continue;
          const errors = editorErrors(stringify(changed));
          if (errors.length > 0) flagged.push(`${key} ${shown}: ${errors[0]}`);
        }
      }
    }
    expect([...new Set(flagged)]).toEqual([]);
  });
});

describe.each(examples)('%s', (file) => {
  const text = readFileSync(resolve(root, file), 'utf8');

  it('is valid, without a warning, with only the cloud credential set', () => {
    const result = validateConfigText(text, { env: ONLY_THE_CLOUD_CREDENTIAL });
    expect((result.ok ? result.warnings : result.issues).map((i) => formatIssue(i))).toEqual([]);
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
