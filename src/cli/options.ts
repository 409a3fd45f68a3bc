import { UsageError, type CommandContext, type OptionSpec } from './context.ts';

/** The options that name one action, worded the same wherever they appear. */
export const ACTION_OPTIONS = {
  server: { type: 'string', value: 'ID', description: 'the server the action belongs to' },
  request: { type: 'string', value: 'ID', description: 'the request id of the action (x-openstack-request-id of the call that started it)' },
} satisfies Record<string, OptionSpec>;

/** The option that names a job of Huawei Cloud / OTC's native ECS API instead of an action. */
export const JOB_OPTION = {
  job: { type: 'string', value: 'ID', description: 'a job of the native ECS API instead (the job_id an ECS call answered with)' },
} satisfies Record<string, OptionSpec>;

/**
 * A string option's value. A line break in it is a usage error: it would end the YAML entry `add` writes
 * for it early, or go into the path of a request.
 */
export function optionText(ctx: CommandContext, name: string): string | undefined {
  const value = ctx.options[name];
  if (typeof value !== 'string') return undefined;
  if (/[\r\n]/.test(value)) throw new UsageError(`--${name}: must be one line`);
  return value;
}

/** What the command line names: a job (`--job`), or an action (`--server` and `--request`), never both. */
export function watchedIdentity(
  ctx: CommandContext,
  need: { server: boolean } = { server: true },
): { kind: 'ecs-job'; jobId: string } | { serverId: string | undefined; requestId: string } {
  const text = (name: string) => optionText(ctx, name)?.trim() || undefined;
  const jobId = text('job');
  const [serverId, requestId] = [text('server'), text('request')];
  if (jobId === undefined && ctx.options['job'] !== undefined) throw new UsageError('--job is empty: give a job id, or --server and --request for an action');
  if (jobId !== undefined) {
    if (serverId !== undefined || requestId !== undefined) throw new UsageError('--job names a job, --server and --request an action: give one or the other');
    return { kind: 'ecs-job', jobId };
  }
  // Given empty (`--server "$SERVER"` with the variable unset) is as good as not given, and said so.
  const missing = (name: string) => (ctx.options[name] === undefined ? `--${name} is required` : `--${name} is empty`);
  if (requestId === undefined) {
    throw new UsageError(ctx.options['request'] === undefined ? '--request (with --server) or --job is required' : `${missing('request')}: give a request id, or --job for a job`);
  }
  if (need.server && serverId === undefined) throw new UsageError(`${missing('server')} with --request`);
  return { serverId, requestId };
}
