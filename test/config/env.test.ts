import { describe, expect, it } from 'vitest';
import { expand, type EnvProblem } from '../../src/config/env.ts';

const env = { HOST: 'smtp.example.com', EMPTY: '', PORT: '25' };

function run(text: string): { value: string; problems: string[] } {
  const problems: EnvProblem[] = [];
  return { value: expand(text, env, problems), problems: problems.map((p) => p.message) };
}

describe('expand', () => {
  it.each([
    ['no reference', 'plain $ text', 'plain $ text'],
    ['a set variable', '${HOST}', 'smtp.example.com'],
    ['several in one value', '${HOST}:${PORT}', 'smtp.example.com:25'],
    ['a default for an unset variable', '${NOPE:-fallback}', 'fallback'],
    ['a default for a variable set but empty', '${EMPTY:-fallback}', 'fallback'],
    ['an empty default', '${NOPE:-}', ''],
    ['a default containing :- and spaces', '${NOPE:-a :- b}', 'a :- b'],
    ['a variable set but empty, without a default', '[${EMPTY}]', '[]'],
    ['the $${ escape', '$${HOST} costs $$5', '${HOST} costs $$5'],
    ['an escape next to a reference', '$${HOST}=${HOST}', '${HOST}=smtp.example.com'],
  ])('%s', (_name, text, value) => {
    expect(run(text)).toEqual({ value, problems: [] });
  });

  it.each([
    ['${SMTP_PASSWORD}', 'environment variable SMTP_PASSWORD is not set (use ${SMTP_PASSWORD:-default} for a default)'],
    ['${HOST', 'the ${ at character 1 of the value is not closed by a }: write ${NAME} or ${NAME:-default} ($${ for a literal ${)'],
    ['${1X}', 'the ${...} at character 1 of the value is no reference: write ${NAME} or ${NAME:-default} ($${ for a literal ${)'],
    ['${HOST-x}', 'the ${...} at character 1 of the value is no reference: write ${NAME} or ${NAME:-default} ($${ for a literal ${)'],
    ['Xk9${q7TopSecretPart', 'the ${ at character 4 of the value is not closed by a }: write ${NAME} or ${NAME:-default} ($${ for a literal ${)'],
    ['whsec_abc${:-zz}', 'the ${...} at character 10 of the value is no reference: write ${NAME} or ${NAME:-default} ($${ for a literal ${)'],
  ])('reports %s, quoting nothing of the value', (text, problem) => {
    expect(run(text)).toEqual({ value: text, problems: [problem] });
  });

  // The environment is a plain object (process.env too), whose prototype has members of these names.
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('reports ${%s} as not set, not as a member of every object', (name) => {
    expect(run(`\${${name}}`)).toEqual({ value: `\${${name}}`, problems: [`environment variable ${name} is not set (use \${${name}:-default} for a default)`] });
    expect(run(`\${${name}:-x}`)).toEqual({ value: 'x', problems: [] });
  });

  it('reports every missing variable of a value', () => {
    expect(run('${A}-${HOST}-${B}').problems).toEqual([
      'environment variable A is not set (use ${A:-default} for a default)',
      'environment variable B is not set (use ${B:-default} for a default)',
    ]);
  });
});
