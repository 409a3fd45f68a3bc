// A notifier type or an auth method is one folder and one registry entry: the rest of the program learns
// of it from the registry alone. A module elsewhere that reaches into a type's folder (for a constant, a
// check of its own) is one more place a new type would have to be written into, and one that a type left
// out of would silently skip; this fails for each such import, naming it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** The folders of one kind of type, each one type: src/notify/<type>/, src/cloud/auth/<method>/. */
const TYPE_FOLDERS = [
  { parent: 'notify', registry: 'notify/registry.ts', shared: ['template'] },
  { parent: 'cloud/auth', registry: 'cloud/auth/registry.ts', shared: [] as string[] },
].flatMap(({ parent, registry, shared }) =>
  readdirSync(join(SRC, parent), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !shared.includes(entry.name))
    .map((entry) => ({ folder: `${parent}/${entry.name}/`, registry })),
);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(SRC, join(entry.parentPath, entry.name)).replaceAll('\\', '/'));
}

/** The src-relative paths a module imports (static and dynamic) by a relative specifier. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((specifier) => relative(SRC, join(SRC, file, '..', specifier)).replaceAll('\\', '/'));
}

describe('type folders', () => {
  it('are found: a notifier type and an auth method at least', () => {
    expect(TYPE_FOLDERS.map((t) => t.folder)).toEqual(expect.arrayContaining(['notify/webhook/', 'cloud/auth/token/']));
  });

  it('are imported by their registry alone, outside themselves', () => {
    const reaching = sources(SRC).flatMap((file) =>
      importsOf(file).flatMap((target) => {
        const owner = TYPE_FOLDERS.find((t) => target.startsWith(t.folder));
        if (owner === undefined || file.startsWith(owner.folder) || file === owner.registry) return [];
        return [`${file} imports ${target}: let the type give it through its registry entry`];
      }),
    );
    expect(reaching).toEqual([]);
  });
});
