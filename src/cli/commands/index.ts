import type { Command } from '../context.ts';
import { check } from './check.ts';
import { demo } from './demo.ts';
import { run } from './run.ts';
import { validate } from './validate.ts';

/** The command registry: adding a command is one file and one line here. */
export const commands: Record<string, Command> = { run, validate, check, demo };
