// `add` of a watch the file already has. A pipeline that retries its step adds the same watch again: that
// is no change. The same ids for another project are a mistake, said with where the entry is.
import { LineCounter, type Document } from 'yaml';
import { isMapping } from '../data/dictionary.ts';
import { documentData } from './aliases.ts';
import { applyCloudsYaml } from './cloudsYaml.ts';
import type { WatchEntry } from './edit.ts';
import { referenceIn, substituteEnv } from './env.ts';
import { defaultProject, identityOf } from './schema.ts';
import { TAG_OPTIONS } from './tags.ts';
import { offsetOf, parseNested } from './yamlTree.ts';

/** The entry that has the ids of a new watch: where it is, and the project each is for (undefined: none resolved). */
export interface Watched {
  index: number;
  line: number;
  project: string | undefined;
  wanted: string | undefined;
  /** The `${VAR}`, not set here, that a project of the file's stands as: which project it is, only the daemon's environment says. */
  unset?: string | undefined;
}

/**
 * The entry of `text` with the same ids as `watch` (as validate compares them: an action's server and
 * request, a job's id), or undefined. Projects are compared as `run` resolves them: a watch without one is
 * for the file's default (cloud.projectId, the endpoint's, the token's, a clouds.yaml's), with `${VAR}`s
 * from `env` where they are set. A file that cannot be read this far has none: the edit reports it.
 */
export function watchedAlready(text: string, watch: WatchEntry, env: NodeJS.ProcessEnv): Watched | undefined {
  // An id is letters, digits and - (as the schema has it), which YAML writes as they are: a file that never
  // says it has no such entry (but for one given by a ${VAR}, which the check of the result reports as a
  // duplicate). A new watch, the common case, is spared a second parse: 1.2 s of CPU at 10,000 watches.
  if (!text.includes('jobId' in watch ? watch.jobId : watch.requestId)) return undefined;
  const read = fileData(text, env);
  if (read === undefined) return undefined;
  const { doc, data, lineCounter } = read;
  const key = identityOf(watch)?.key;
  const watches = watchList(data);
  const index = watches.findIndex((entry) => isMapping(entry) && identityOf(entry)?.key === key);
  if (index === -1) return undefined;
  const entry = watches[index] as Record<string, unknown>;
  const written = typeof entry.projectId === 'string' ? entry.projectId : undefined;
  const line = lineCounter.linePos(offsetOf(doc, ['watches', index])).line;
  if (written === watch.projectId) return { index, line, project: written, wanted: written };
  // Only now: a clouds.yaml is a file to read, and its project matters only to a watch that names none.
  applyCloudsYaml(data, env);
  const fallback = defaultProject((data as { cloud?: unknown }).cloud);
  const project = written ?? fallback;
  const wanted = watch.projectId ?? fallback;
  // A value whose variable is not set keeps its `${...}` text; the project given on the command line is no reference.
  const unset = referenceIn(project ?? '') ?? (watch.projectId === undefined ? referenceIn(wanted ?? '') : undefined);
  return { index, line, project, wanted, unset };
}

/**
 * The file's data as `run` reads it (aliases resolved, `${VAR}`s from `env`), with its document and where
 * its lines start; undefined for a file that cannot be read this far (the edit's check reports why).
 */
export function fileData(text: string, env: NodeJS.ProcessEnv): { doc: Document.Parsed; data: unknown; lineCounter: LineCounter } | undefined {
  const lineCounter = new LineCounter();
  const parsed = parseNested(text, { lineCounter, ...TAG_OPTIONS });
  if ('deep' in parsed || parsed.doc.errors.length > 0) return undefined;
  const { doc } = parsed;
  substituteEnv(doc, env);
  const converted = documentData(doc, text);
  return converted.ok ? { doc, data: converted.data, lineCounter } : undefined;
}

/** The `watches` list of a file's data; none when it is not a list. */
export function watchList(data: unknown): unknown[] {
  return isMapping(data) && Array.isArray(data.watches) ? data.watches : [];
}
