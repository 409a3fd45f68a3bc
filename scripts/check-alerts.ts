// Checks the alerts of deploy/kubernetes/prometheusrule.yaml with Prometheus's own promtool: the rule
// groups are taken out of the PrometheusRule's spec (what the Prometheus Operator hands Prometheus), then
// `promtool check rules` and `promtool test rules` on test/deploy/alerts.promtool.yaml, whose input series
// are shaped as the daemon exports them (series at 0 from the start, a restart, a pod replaced by
// another). Not part of npm test: promtool comes from apt (Debian's `prometheus` package).
//
//   apt-get install -y prometheus && node scripts/node24.mjs scripts/check-alerts.ts
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RULE = join(ROOT, 'deploy', 'kubernetes', 'prometheusrule.yaml');
const TESTS = join(ROOT, 'test', 'deploy', 'alerts.promtool.yaml');
/** The name the tests' rule_files give the extracted groups. */
const RULES_FILE = 'prometheusrule.rules.yaml';

const { spec } = parse(readFileSync(RULE, 'utf8')) as { spec: { groups: unknown[] } };
const dir = mkdtempSync(join(tmpdir(), 'eaw-alerts-'));
let status: number;
try {
  writeFileSync(join(dir, RULES_FILE), stringify({ groups: spec.groups }));
  // promtool reads rule_files relative to the test file.
  copyFileSync(TESTS, join(dir, 'alerts.promtool.yaml'));
  status = promtool(['check', 'rules', join(dir, RULES_FILE)]) || promtool(['test', 'rules', join(dir, 'alerts.promtool.yaml')]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);

function promtool(args: string[]): number {
  const run = spawnSync('promtool', args, { stdio: 'inherit' });
  if (run.error) {
    process.stderr.write(`promtool could not be run (${run.error.message}): install it with apt-get install prometheus\n`);
    return 1;
  }
  return run.status ?? 1;
}
