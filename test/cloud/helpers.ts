import { readdirSync, readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { MockAgent } from 'undici';
import { vi } from 'vitest';
import type { MockInterceptor } from 'undici/types/mock-interceptor.js';
import type { CloudConfig } from '../../src/config/schema.ts';

// Unmodified copies of the upstream samples (test/fixtures/README.md), so that a fresh clone tests alone.
const FIXTURES = new URL('../fixtures/', import.meta.url);

export function fixtureText(relative: string): string {
  return readFileSync(new URL(relative, FIXTURES), 'utf8');
}

export function fixtureJson(relative: string): unknown {
  return JSON.parse(fixtureText(relative));
}

/** Every `instance-action-get*.json` under nova-api-samples, as paths relative to FIXTURES. */
export function instanceActionSamples(): string[] {
  const root = new URL('nova-api-samples/', FIXTURES);
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(new URL(`${d.name}/`, root))
        .filter((f) => f.startsWith('instance-action-get') && f.endsWith('.json'))
        .map((f) => `nova-api-samples/${d.name}/${f}`),
    )
    .sort();
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A debug-level logger whose JSON lines are kept, to check what is logged (and what never is). */
export function captureLogger(): { logger: Logger; lines: LogLine[]; raw: string[] } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const logger = pino({ level: 'debug' }, {
    write(line: string) {
      raw.push(line);
      lines.push(JSON.parse(line) as LogLine);
    },
  });
  return { logger, lines, raw };
}

export function mockAgent(): MockAgent {
  const agent = new MockAgent();
  agent.disableNetConnect();
  return agent;
}

/** Request headers as the mock saw them, with lower-case names. */
export function headersOf(opts: MockInterceptor.MockResponseCallbackOptions): Record<string, string> {
  return Object.fromEntries(new Headers(opts.headers as Record<string, string>).entries());
}

/** A `cloud` section as the schema gives it, from the keys a test cares about. */
export function cloudConfig(keys: Partial<CloudConfig>): CloudConfig {
  return { auth: { type: 'none' }, interface: 'public', tls: {}, microversion: 'auto', timeout: 2000, ...keys };
}

/**
 * A sample's action as the cloud answers it for `ref`: the samples are of other actions, whose ids the
 * client refuses in an answer about this one.
 */
export function actionAnswer(sample: string, ref: { serverId: string; requestId: string }): string {
  const doc = JSON.parse(sample) as { instanceAction: Record<string, unknown> };
  doc.instanceAction['request_id'] = ref.requestId;
  if ('instance_uuid' in doc.instanceAction) doc.instanceAction['instance_uuid'] = ref.serverId;
  return JSON.stringify(doc, null, 4);
}

/** `promise` settled, moving fake timers on 100 ms at a time, and letting I/O through between, until it is. */
export async function settled<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  const watched = promise.finally(() => { done = true; });
  // A rejection is the caller's (`rejects`), once returned: not unhandled while the timers move on.
  watched.catch(() => undefined);
  while (!done) {
    await vi.advanceTimersByTimeAsync(100);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return watched;
}
