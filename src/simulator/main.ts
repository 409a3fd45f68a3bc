// Manual experiments: `node src/simulator/main.ts [--port 8774] [--token T] [--project P]
// [--role admin|member] [--max-microversion 2.60]` serves the demo scenarios until Ctrl-C.

import { parseArgs } from 'node:util';
import { demoScenarios } from './scenarios.ts';
import { startSimulator } from './server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    token: { type: 'string' },
    project: { type: 'string', default: '89655fe61c4c4a08b9f3e7f9095441b8' },
    role: { type: 'string', default: 'member' },
    'max-microversion': { type: 'string', default: '2.96' },
  },
});

if (values.role !== 'admin' && values.role !== 'member') {
  console.error(`--role must be admin or member, got ${values.role}`);
  process.exit(2);
}

const simulator = await startSimulator({
  port: Number(values.port),
  token: values.token,
  role: values.role,
  maxMicroversion: values['max-microversion'],
});
console.log(`compute endpoint: ${simulator.url}  (project ${values.project})`);
for (const scenario of demoScenarios(values.project)) {
  simulator.addAction(scenario.script);
  const { serverId, requestId } = scenario.script;
  console.log(`${scenario.key.padEnd(22)} expect ${scenario.expected.padEnd(9)} server ${serverId} request ${requestId}`);
  console.log(`  ${simulator.url}/v2.1/${values.project}/servers/${serverId}/os-instance-actions/${requestId}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void simulator.close());
}
