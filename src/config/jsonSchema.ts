// The watch file as a JSON Schema, for editors (the `yaml-language-server` line at the top of a watch file):
// generated from the zod schema, so that it can never say something the loader does not. Committed as
// config/watch.schema.json; `npm run schema` regenerates it and a test fails when it is stale.
import * as z from 'zod';
import { ALSO_WRITTEN_AS } from './fields.ts';
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
  const types = [node.type].flat();
  if (types.some((type) => type === 'integer' || type === 'number' || type === 'boolean')) return true;
  return types.includes('string') && ('pattern' in node || 'format' in node);
}

const PLACEHOLDER_REF: JsonSchema = { $ref: `#/$defs/${PLACEHOLDER}` };

/** `node` as one of `alternatives` (or its own alternatives among them), its annotations kept outside them. */
function orElse(node: JsonSchema, alternatives: readonly unknown[]): JsonSchema {
  const annotations = Object.fromEntries(Object.entries(node).filter(([key]) => ANNOTATIONS.has(key)));
  const check = Object.fromEntries(Object.entries(node).filter(([key]) => !ANNOTATIONS.has(key)));
  // oneOf too: acceptPlaceholders makes every oneOf an anyOf.
  const union = check.anyOf ?? check.oneOf;
  const own = Object.keys(check).length === 1 && Array.isArray(union) ? (union as unknown[]) : [check];
  return { ...annotations, anyOf: [...own, ...alternatives] };
}

/**
 * Lets a `${VAR}` stand wherever the file may hold one: every scalar value, never a key. An alternative of
 * several is not given one of its own: the placeholder is one more alternative beside them.
 */
function acceptPlaceholders(node: JsonSchema, alternative = false): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, isObject(child) ? acceptPlaceholders(child) : child]));
    } else if ((key === 'items' || key === 'additionalProperties') && isObject(value)) {
      out[key] = acceptPlaceholders(value);
    } else if ((key === 'oneOf' || key === 'anyOf') && Array.isArray(value)) {
      // anyOf: with placeholders, more than one alternative may match a value, which oneOf forbids.
      const alternatives = value.map((child: unknown) => (isObject(child) ? acceptPlaceholders(child, true) : child));
      out['anyOf'] = value.some((child) => isObject(child) && constrainedScalar(child)) ? [...alternatives, PLACEHOLDER_REF] : alternatives;
    } else {
      out[key] = value;
    }
  }
  return !alternative && constrainedScalar(out) ? orElse(out, [PLACEHOLDER_REF]) : out;
}

/** zod leaves out the default of a field whose value is preprocessed (numbers, booleans): put it back. */
function keepDefaults(ctx: { zodSchema: z.core.$ZodTypes; jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  const def = ctx.zodSchema._zod.def;
  if ((def.type === 'default' || def.type === 'prefault') && ctx.jsonSchema.default === undefined) {
    ctx.jsonSchema.default = def.defaultValue as z.core.util.JSONType;
  }
}

/**
 * The other forms in which the loader takes a value (./fields.ts, ALSO_WRITTEN_AS). A bare type joins the
 * node's own (`type: [object, null]`: an editor still completes its keys), unless the node has an enum or
 * const; a form the node takes already (a string, of a node that checks nothing else) is left out; any
 * other is an alternative.
 */
function alsoWrittenAs(ctx: { zodSchema: z.core.$ZodTypes; jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  const forms = ALSO_WRITTEN_AS.get(ctx.zodSchema)?.forms;
  if (forms === undefined) return;
  const node = ctx.jsonSchema as JsonSchema;
  const others: unknown[] = [];
  for (const form of forms) {
    const types = [node.type].flat();
    const checks = Object.keys(node).filter((key) => !ANNOTATIONS.has(key));
    if (node.type !== undefined && checks.length === 1 && types.includes(form.type)) continue;
    if (Object.keys(form).length === 1 && node.type !== undefined && !('enum' in node) && !('const' in node)) node.type = [...new Set([...types, form.type])];
    else others.push(form);
  }
  if (others.length === 0) return;
  const wrapped = orElse(node, others);
  for (const key of Object.keys(node)) delete node[key];
  Object.assign(node, wrapped);
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
    alsoWrittenAs(ctx);
  },
} satisfies Parameters<typeof z.toJSONSchema>[1];

/**
 * With OS_CLOUD set, a clouds.yaml profile may give the whole `cloud` section (./cloudsYaml.ts, applied
 * before the zod schema, which requires it): a file may leave it out, or write `cloud:` with nothing after
 * it. An editor does not see the environment, as it does not see a ${VAR}'s value: it takes both.
 */
function cloudFromProfile(root: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(root)) {
    if (key === 'required' && Array.isArray(value)) {
      const others = value.filter((name) => name !== 'cloud');
      if (others.length > 0) out[key] = others;
    } else if (key === 'properties' && isObject(value) && isObject(value.cloud)) {
      out[key] = { ...value, cloud: { ...value.cloud, type: [value.cloud.type, 'null'].flat() } };
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** The JSON Schema of the watch file as a person writes it (durations as text, `${VAR}` allowed). */
export function watchFileJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(ConfigSchema, OPTIONS) as JsonSchema;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'ecs-action-watch watch file',
    description: 'Instance actions to watch and whom to tell. `ecs-action-watch validate` checks everything this schema cannot.',
    ...acceptPlaceholders(cloudFromProfile(rest)),
    $defs: { [PLACEHOLDER]: PLACEHOLDER_SCHEMA },
  };
}

/** The committed file's text: stable formatting, so that a regeneration without a change is no diff. */
export function watchFileJsonSchemaText(): string {
  return `${JSON.stringify(watchFileJsonSchema(), null, 2)}\n`;
}
