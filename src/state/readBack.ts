// A record read back from the state file: checked as it is read (stateFiles.ts), so that a snapshot's JSON
// of every record never lives beside the records made of it, and made to hold its memory as the record of a
// daemon that polled the watch from the start does (JSON.parse gives each record its own copy of every
// string: 2.1 MB more at 10,000 running watches, for as long as they run; docs/performance.md, Memory).
import type { z } from 'zod';
import type { SharedStrings } from '../cloud/sharedStrings.ts';
import { watchKey } from '../watch/kinds/index.ts';
import { once } from '../data/once.ts';
import { recordProblems, stateSchemas } from './schema.ts';
import type { Section } from './stateFiles.ts';
import type { BatchRecord, ClockRecord, TrackedProjectRecord, TrackedServerRecord, WatchRecord } from './types.ts';

/** The record each section holds. */
export interface SectionRecords {
  watches: WatchRecord;
  batches: BatchRecord;
  servers: TrackedServerRecord;
  projects: TrackedProjectRecord;
  clocks: ClockRecord;
}

/** A record as read: what the daemon works with, or the problems that set it aside, with the JSON it was. */
export type Checked<R> = { ok: true; record: R } | { ok: false; problems: string[]; raw: unknown };

const sectionSchemas = once((): { [S in Section]: z.ZodType<SectionRecords[S]> } => {
  const schemas = stateSchemas();
  return {
    watches: schemas.watchRecordSchema,
    batches: schemas.batchRecordSchema,
    servers: schemas.trackedServerSchema,
    projects: schemas.trackedProjectSchema,
    clocks: schemas.clockRecordSchema,
  };
});

/**
 * The check of each record of `section` read under `key`. A watch whose ids are not its key, or a batch
 * whose label is not, is set aside as well. With `strings` (a daemon's read, not a reader's, which holds the
 * records for a moment only), a watch shares its strings through it as the client does.
 */
export function checkRecord<S extends Section>(section: S, key: string, raw: unknown, strings: SharedStrings | null): Checked<SectionRecords[S]> {
  const checked = sectionSchemas()[section].safeParse(raw);
  if (!checked.success) return { ok: false, problems: recordProblems(checked.error), raw };
  const record = checked.data;
  const mismatch = keyMismatch(section, key, record);
  if (mismatch !== undefined) return { ok: false, problems: [mismatch], raw };
  if (strings !== null && section === 'watches') asIfPolled(record as WatchRecord, strings);
  return { ok: true, record };
}

function keyMismatch(section: Section, key: string, record: SectionRecords[Section]): string | undefined {
  if (section === 'watches') {
    const own = watchKey(record as WatchRecord);
    return own === key ? undefined : `(the key): does not match the record's ids (${own})`;
  }
  if (section === 'batches') return (record as BatchRecord).label === key ? undefined : `label: does not match its key (${key})`;
  return undefined;
}

/** Shares the strings of the record and its action through `strings`, as the client shares an answer's. Changes no value. */
function asIfPolled(record: WatchRecord, strings: SharedStrings): void {
  record.projectId = strings.share(record.projectId);
  if (record.kind !== 'ecs-job' && record.instanceAction !== null) strings.shareAction(record.instanceAction, record);
}
