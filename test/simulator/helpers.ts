// Shared by the simulator's tests: a hand-driven clock and a small HTTP client over global fetch.

import { readFileSync } from 'node:fs';
import { afterEach } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';

export const PROJECT = '6f70656e737461636b20342065766572';
export const SERVER = '4bf3473b-d550-4b65-9409-292d44ab14a2';
export const START = Date.parse('2026-11-26T18:00:00.000Z');

/** A clock for the simulator's `now` option that moves only when told. */
export function manualClock(start = START): { now: () => number; advance: (ms: number) => void } {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
  };
}

export interface EventJson {
  event: string;
  start_time: string;
  finish_time: string | null;
  result: string | null;
  traceback?: string | null;
  [key: string]: unknown;
}

export interface ActionJson {
  instanceAction: {
    action: string;
    message: string | null;
    start_time: string;
    updated_at?: string;
    events?: EventJson[];
    [key: string]: unknown;
  };
}

export interface ServerJson {
  server: {
    id: string;
    status: string;
    'OS-EXT-STS:task_state': string | null;
    'OS-EXT-STS:vm_state': string;
    fault?: { code: number; message: string; created: string; details?: string };
    [key: string]: unknown;
  };
}

export interface Answer<T> {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body; only meaningful when the body is JSON. */
  json: T;
}

export async function get<T = unknown>(url: string, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json: json as T };
}

export function microversion(version: string): Record<string, string> {
  return { 'X-OpenStack-Nova-API-Version': version };
}

export function actionUrl(base: string, requestId: string, serverId = SERVER, projectId = PROJECT): string {
  return `${base}/v2.1/${projectId}/servers/${serverId}/os-instance-actions/${requestId}`;
}

export function serverUrl(base: string, serverId = SERVER, projectId = PROJECT): string {
  return `${base}/v2.1/${projectId}/servers/${serverId}`;
}

/** An upstream sample copied into test/fixtures (see the README there). */
export function fixture<T = unknown>(relativePath: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/nova-api-samples/${relativePath}`, import.meta.url), 'utf8')) as T;
}

/** `start(options)` for a file's tests: a simulator of the test's own, closed after it. */
export function simulatorPerTest(): (options?: SimulatorOptions) => Promise<Simulator> {
  let simulator: Simulator | undefined;
  afterEach(async () => {
    await simulator?.close();
    simulator = undefined;
  });
  return async (options = {}) => (simulator = await startSimulator(options));
}
