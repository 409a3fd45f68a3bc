// An esbuild plugin that rewrites dependencies' source text as it is bundled (scripts/bundleRules.ts says which
// and why). A rewrite is exact text, found exactly once, and every file named must be bundled: otherwise
// the build fails, so that an upgrade that changed one is seen, not bundled half-rewritten.
import type { Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';

/** Each file, by its path under node_modules (`undici/lib/core/util.js`): its texts and their replacements. */
export type Rewrites = Record<string, ReadonlyArray<readonly [from: string, to: string]>>;

export function rewriteSources(rewrites: Rewrites): Plugin {
  const files = Object.keys(rewrites);
  const pattern = (file: string) => file.split('/').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\\\/]');
  const filter = new RegExp(`[\\\\/]node_modules[\\\\/](?:${files.map(pattern).join('|')})$`);
  return {
    name: 'rewrite-sources',
    setup(b) {
      const seen = new Set<string>();
      b.onStart(() => {
        seen.clear();
      });
      b.onLoad({ filter }, (args) => {
        const file = files.find((name) => args.path.replaceAll('\\', '/').endsWith(`/node_modules/${name}`))!;
        seen.add(file);
        let text = readFileSync(args.path, 'utf8');
        for (const [from, to] of rewrites[file]!) {
          const found = text.split(from).length - 1;
          if (found !== 1) return { errors: [{ text: `${file}: ${JSON.stringify(from)} is found ${found} times, not once: the rewrite no longer fits this version` }] };
          text = text.replace(from, () => to);
        }
        return { contents: text, loader: 'js' };
      });
      b.onEnd(() => ({ errors: files.filter((file) => !seen.has(file)).map((file) => ({ text: `${file} was not bundled: its rewrite no longer fits this version` })) }));
    },
  };
}
