// The suite's own set-up: a file that mocks a module (vi.mock) but shares its worker's module graph would
// have every later file in that worker see the mock, and pass or fail by the order the files ran in.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { MOCKING } from '../vitest.config.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

it('runs every test file that mocks a module, and only those, in the isolated project', async () => {
  const files = (await readdir(`${ROOT}test`, { recursive: true })).filter((f) => f.endsWith('.test.ts')).map((f) => `test/${f}`);
  const mocking = [];
  for (const file of files) if (/^vi\.mock\(/m.test(await readFile(`${ROOT}${file}`, 'utf8'))) mocking.push(file);
  expect(mocking.sort()).toEqual([...MOCKING].sort());
});
