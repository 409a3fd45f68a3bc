import type { Command } from '../context.ts';
import { add } from './add.ts';
import { check } from './check.ts';
import { demo } from './demo.ts';
import { notifyTest } from './notifyTest.ts';
import { remove } from './remove.ts';
import { run } from './run.ts';
import { simulator } from './simulator.ts';
import { validate } from './validate.ts';
import { wait } from './wait.ts';

/** The command registry, in the order `--help` lists them: adding a command is one file and one line here. */
export const commands: Record<string, Command> = {
  run,
  validate,
  check,
  wait,
  'notify-test': notifyTest,
  add,
  remove,
  demo,
  simulator,
};
