// What every client of the bench asks bench/server.ts for, in one place: the daemon (through its watch file),
// autocannon and undici alone read the same actions of the same project, with the headers the daemon sends.

export const BENCH_PROJECT = 'bench-project';

/** The path of watch `n`'s action: server srv-<n>, request req-<n>. */
export function actionPath(n: number): string {
  return `/v2.1/${BENCH_PROJECT}/servers/srv-${n}/os-instance-actions/req-${n}`;
}

/** What the daemon sends with each poll at microversion 2.60 (src/cloud/client.ts). */
export const POLL_HEADERS = {
  accept: 'application/json',
  'user-agent': 'ecs-action-watch-bench',
  'x-openstack-nova-api-version': '2.60',
  'openstack-api-version': 'compute 2.60',
};
