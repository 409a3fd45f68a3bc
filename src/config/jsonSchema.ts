// The watch file as a JSON Schema, for editors (the `yaml-language-server` line at the top of a watch file):
// generated from the zod schema, so that it can never say something the loader does not. Committed as
// config/watch.schema.json; `npm run schema` regenerates it and a test fails when it is stale.
import * as z from 'zod';
import { ConfigSchema } from './schema.ts';
import { recordTwinOf } from '../data/dictionary.ts';

type JsonSchema = Record<string, unknown>;

const PLACEHOLDER = 'placeholder';

// `${VAR}` is replaced after parsing, in any string value: an editor sees the reference, not the value.
const PLACEHOLDER_SCHEMA: JsonSchema = {
  type: 'string',
  pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}',
  description: 'Replaced by an environment variable when the file is loaded: ${VAR} or ${VAR:-default}',
};

// Annotations stay with the field, outside the alternatives, so that editors show and complete them.
const ANNOTATIONS = new Set(['default', 'description', 'title', 'examples']);

const isObject = (value: unknown): value is JsonSchema => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A value an editor would reject as written although `${VAR}` in its place is valid. */
function constrainedScalar(node: JsonSchema): boolean {
  if ('enum' in node || 'const' in node) return true;
  if (node.type === 'integer' || node.type === 'number' || node.type === 'boolean') return true;
  return node.type === 'string' && ('pattern' in node || 'format' in node);
}

/** Lets a `${VAR}` stand wherever the file may hold one: every scalar value, never a key. */
function acceptPlaceholders(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, isObject(child) ? acceptPlaceholders(child) : child]));
    } else if ((key === 'items' || key === 'additionalProperties') && isObject(value)) {
      out[key] = acceptPlaceholders(value);
    } else if ((key === 'oneOf' || key === 'anyOf') && Array.isArray(value)) {
      // anyOf: with placeholders, more than one alternative may match a value, which oneOf forbids.
      out['anyOf'] = value.map((child: unknown) => (isObject(child) ? acceptPlaceholders(child) : child));
    } else {
      out[key] = value;
    }
  }
  if (!constrainedScalar(out)) return out;
  const annotations = Object.fromEntries(Object.entries(out).filter(([key]) => ANNOTATIONS.has(key)));
  const check = Object.fromEntries(Object.entries(out).filter(([key]) => !ANNOTATIONS.has(key)));
  return { ...annotations, anyOf: [check, { $ref: `#/$defs/${PLACEHOLDER}` }] };
}

/** zod leaves out the default of a field whose value is preprocessed (numbers, booleans): put it back. */
function keepDefaults(ctx: { zodSchema: z.core.$ZodTypes; jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  const def = ctx.zodSchema._zod.def;
  if ((def.type === 'default' || def.type === 'prefault') && ctx.jsonSchema.default === undefined) {
    ctx.jsonSchema.default = def.defaultValue as z.core.util.JSONType;
  }
}

/** A mapping of user-chosen names (notifiers, headers) is described as the record it validates like. */
function describeDictionaries(ctx: { zodSchema: z.core.$ZodTypes; jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  const twin = recordTwinOf(ctx.zodSchema);
  if (twin === undefined) return;
  const { $schema: _, ...record } = z.toJSONSchema(twin, OPTIONS);
  for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as JsonSchema)[key];
  Object.assign(ctx.jsonSchema, record);
}

const OPTIONS = {
  target: 'draft-2020-12',
  io: 'input',
  // Refinements (cron syntax, cross-references) have no JSON Schema form; the loader checks them.
  unrepresentable: 'any',
  override: (ctx) => {
    describeDictionaries(ctx);
    keepDefaults(ctx);
  },
} satisfies Parameters<typeof z.toJSONSchema>[1];

/** The JSON Schema of the watch file as a person writes it (durations as text, `${VAR}` allowed). */
export function watchFileJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(ConfigSchema, OPTIONS) as JsonSchema;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'ecs-action-watch watch file',
    description: 'Instance actions to watch and whom to tell. `ecs-action-watch validate` checks everything this schema cannot.',
    ...acceptPlaceholders(rest),
    $defs: { [PLACEHOLDER]: PLACEHOLDER_SCHEMA },
  };
}

/** The committed file's text: stable formatting, so that a regeneration without a change is no diff. */
export function watchFileJsonSchemaText(): string {
  return `${JSON.stringify(watchFileJsonSchema(), null, 2)}\n`;
}
