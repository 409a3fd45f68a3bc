// What in the process's environment, rather than in the watch file, stops the daemon or its TLS: `validate`
// checks the file alone otherwise, and says "valid" of a file that `run` then cannot use.
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
  const problems = [proxy && `${proxy.message} (run, check and wait stop at once with it)`, extraCaCertsWarning(env)];
  return problems.filter((problem) => problem !== undefined);
}
