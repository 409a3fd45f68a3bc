// The keys the committed JSON Schema for editors (config/watch.schema.json) describes, for tests that hold
// it against validate and the README.

export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A node and the alternatives it offers (anyOf), each of which may describe a key. */
export function alternatives(node: Json): Json[] {
  return [node, ...((node.anyOf as unknown[] | undefined) ?? []).filter(isObject).flatMap(alternatives)];
}

/**
 * Every key the JSON Schema describes, as `.cloud.auth.token`, `.notifiers.*.smtp.host`, `.watches[].kind`,
 * with the nodes that describe it (a notifier's `on` is the email's and the webhook's).
 */
export function schemaKeys(node: Json, path = '', keys = new Map<string, Json[]>()): Map<string, Json[]> {
  const add = (key: string, child: Json) => {
    keys.set(key, [...(keys.get(key) ?? []), child]);
    schemaKeys(child, key, keys);
  };
  for (const each of alternatives(node)) {
    for (const [key, child] of Object.entries(isObject(each.properties) ? each.properties : {})) if (isObject(child)) add(`${path}.${key}`, child);
    if (isObject(each.additionalProperties)) add(`${path}.*`, each.additionalProperties);
    if (isObject(each.items)) schemaKeys(each.items, `${path}[]`, keys);
  }
  return keys;
}

/** Whether a key's nodes take null: the key written with nothing after it. */
export const takesNull = (nodes: readonly Json[]): boolean => nodes.flatMap(alternatives).some((n) => [n.type].flat().includes('null'));
