// Messages for the issues zod raises on its own (types, ranges, enums), worded for the person editing the
// watch file. Issues with a message of their own in the schema never reach this map. Values are quoted
// back only where they cannot be secrets.

import type { z } from 'zod';
import { meant } from '../text/closest.ts';
import { quoted } from '../text/clipped.ts';
import { EMPTY_FROM_ENV, numberText } from './fields.ts';
import { isMapping } from '../data/dictionary.ts';

const NOUNS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
};

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'boolean') return `${value}`;
  return NOUNS[typeof value] ?? typeof value;
}

const isScalar = (value: unknown) => typeof value !== 'object' || value === null;

/** A value as a message shows it: quoted when it is text, a number or true/false; a list or a mapping named for what it is, not printed as `[object Object]` or its items. */
export function shown(value: unknown): string {
  // .nan, .inf and 1e309 are numbers that String() writes as no file does (NaN, Infinity).
  if (typeof value === 'number' && !Number.isFinite(value)) return numberText(value);
  return isScalar(value) ? quoted(String(value)) : kindOf(value);
}

/** A value that is none of those allowed (`type: oauth`, `type: {}`). */
export function unknownValue(what: string, input: unknown, allowed: readonly unknown[]): string {
  const names = allowed.map(String);
  const list = names.join(', ');
  if (!isScalar(input)) return `expected the ${what}, one of ${list}; got ${kindOf(input)}`;
  const guess = typeof input === 'string' ? meant(input, names) : '';
  return `unknown ${what} ${shown(input)} (allowed: ${list})${guess}`;
}

/** A whole number's range as the schema holds it (zod's number schema); a number's message names it. */
interface NumberRange {
  isInt?: boolean;
  minValue?: number | null;
  maxValue?: number | null;
}

/** What is expected, a whole number with its range, as the too-small and too-big messages state it. */
function nounOf(expected: string, schema: unknown): string {
  const range = schema as NumberRange | undefined;
  if (range?.isInt === true && typeof range.minValue === 'number' && typeof range.maxValue === 'number') return `a whole number from ${range.minValue} to ${range.maxValue}`;
  return NOUNS[expected] ?? expected;
}

function invalidType(expected: string, input: unknown, schema: unknown): string {
  const noun = nounOf(expected, schema);
  if (input === undefined) return `required (${noun})`;
  if (input === null) return `is empty: expected ${noun}`;
  // zod says a number is expected of .nan and .inf, and a number is what they are.
  if ((expected === 'int' || expected === 'number') && typeof input === 'number' && !Number.isFinite(input)) return `expected ${noun}, got ${numberText(input)}`;
  if (expected === 'int' && typeof input === 'number') return `${input} is not a whole number`;
  if (input === '' && expected !== 'string') return `is empty: expected ${noun} (${EMPTY_FROM_ENV})`;
  const hint =
    expected === 'string' && (typeof input === 'number' || typeof input === 'boolean') ? ' (put it in quotes)'
    : expected === 'array' ? listHint(input)
    : NOUNS[expected] === 'a mapping' ? missingSpaceHint(input)
    : expected === 'boolean' ? booleanHint(input)
    : '';
  return `expected ${noun}, got ${kindOf(input)}${hint}`;
}

// `retries:3`: a key, its colon, and no space after it; not a URL (`https://...`).
const KEY_WITHOUT_SPACE = /^([A-Za-z_][A-Za-z0-9_.-]*):(?![\s/])/;

/**
 * For a string where a mapping goes that starts as a key whose colon lacks the space after it (YAML reads
 * `retries:3` as one string), what to write; '' otherwise. Only the key is said: the value may be a secret.
 */
export function missingSpaceHint(input: unknown): string {
  const key = typeof input === 'string' ? KEY_WITHOUT_SPACE.exec(input)?.[1] : undefined;
  return key === undefined ? '' : `: the space after the colon of ${key} is missing (write ${key}: value)`;
}

// What YAML 1.1 (and the tools written for it) read as true and false, and YAML 1.2 as text.
const YAML_1_1_BOOLEANS = new Map([...['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON'].map((w) => [w, true] as const), ...['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF'].map((w) => [w, false] as const)]);

/** For YAML 1.1's `yes`, `off`... where true or false goes, the word to write instead; '' otherwise. */
function booleanHint(input: unknown): string {
  const word = typeof input === 'string' ? input.trim() : '';
  const meant = YAML_1_1_BOOLEANS.get(word);
  return meant === undefined ? '' : `: ${quoted(word)} is text in YAML 1.2, which this file is read as: write ${meant}`;
}

/** How to write a list, for a string or a mapping written where one goes. */
function listHint(input: unknown): string {
  if (typeof input === 'string') return ' (write a list as [a, b], or one item per line starting with "- ")';
  if (!isMapping(input)) return '';
  // `watches: {}`, or `watches:` followed by `requestId: ...` with the item's "- " left out.
  return Object.keys(input).length === 0 ? ' (an empty list is [])' : ' (each item starts with "- ", its first key on the same line)';
}

export const configErrorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      return invalidType(iss.expected, iss.input, iss.inst);
    case 'too_small':
      if (iss.origin === 'string' || iss.origin === 'array') return 'must not be empty';
      return `must be at least ${iss.minimum} (got ${String(iss.input)})`;
    case 'too_big':
      return `must be at most ${iss.maximum} (got ${String(iss.input)})`;
    case 'invalid_value':
      return unknownValue('value', iss.input, iss.values);
    case 'invalid_key':
      return iss.issues[0]?.message;
    default:
      return undefined;
  }
};
