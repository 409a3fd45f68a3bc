// What in the process's environment, rather than in the watch file, fails the daemon's requests or its TLS:
// `validate` checks the file alone otherwise, and says "valid" of a file that `run` then cannot use.
import { extraCaCertsProblem } from './caFile.ts';
import { proxyVariableProblem } from './proxy.ts';

/** What is wrong with the CA file NODE_EXTRA_CA_CERTS names in `env`, if it names one. */
export function extraCaCertsWarning(env: NodeJS.ProcessEnv): string | undefined {
  const path = env['NODE_EXTRA_CA_CERTS'];
  return path ? extraCaCertsProblem(path) : undefined;
}

/** Each problem of the environment `env`, as a sentence that names the variable and what it does. */
export function environmentProblems(env: NodeJS.ProcessEnv): string[] {
  const proxy = proxyVariableProblem(env);
  // A proxy error is retried as a network error is (ApiError's RETRYABLE), so that a notification stays owed
  // until the daemon is restarted with the variable mended: only wait gives up on it.
  const consequence =
    'every request fails with it: run starts and keeps trying on its schedule, notifications staying owed; check and notify-test ' +
    'report each failure, with status 1; wait ends with status 2 at its first poll';
  const problems = [proxy && `${proxy.message} (${consequence})`, extraCaCertsWarning(env)];
  return problems.filter((problem) => problem !== undefined);
}
