// The `template:` entry of a notifier in the watch file: a template written in place, or kept in a file
// that is read (and checked) whenever the watch file is loaded.
import { isAbsolute } from 'node:path';
import * as z from 'zod';
import { ACROSS_KEYS, oneOf, orEmpty, strict } from '../../config/fields.ts';
import { fileProblem } from '../../files/fileProblem.ts';
import { readRegularFileSync } from '../../files/readRegularFile.ts';
import { templateProblems, type TemplateMode } from './template.ts';

/** Far beyond any message a chat system or a mail reader takes. */
const MAX_TEMPLATE_BYTES = 256 * 1024;

/** A template written in the watch file, checked as it is loaded. */
function templateText(mode: TemplateMode) {
  return z
    .string()
    .min(1)
    .superRefine((source, ctx) => {
      for (const message of templateProblems(source, mode)) ctx.addIssue({ code: 'custom', input: undefined, message });
    })
    .meta({ description: `A Mustache template${mode === 'json' ? ' that renders JSON' : ''}; the view is in the README under "Notifier templates"` });
}

/** A file holding a template (a path relative to the working folder), read and checked as the watch file is loaded. */
function templateFile(mode: TemplateMode) {
  return z.string().min(1).meta({ description: 'A file holding the template, e.g. docs/templates/slack.json.mustache; read when the watch file is loaded' }).transform((path, ctx) => {
    let source: string;
    try {
      // UTF-8 as the watch file is (a Latin-1 file would send U+FFFD for its accents), and without the byte
      // order mark an editor may write, which would otherwise open the body with it.
      source = readRegularFileSync(path, MAX_TEMPLATE_BYTES, { strictUtf8: true }).replace(/^\uFEFF/, '');
    } catch (err) {
      // Said as for cloud.tls.caFile: `validate` run from the checkout finds docs/templates/..., the daemon
      // in its own working folder (systemd's and the image's /var/lib/ecs-action-watch) does not.
      const where = isAbsolute(path) ? '' : ` (relative to the working folder, ${process.cwd()})`;
      ctx.issues.push({ code: 'custom', input: path, message: `cannot read the template ${path}: ${fileProblem(err)}${where}` });
      return z.NEVER;
    }
    const problems = templateProblems(source, mode);
    for (const message of problems) ctx.issues.push({ code: 'custom', input: path, message: `${path}: ${message}` });
    return problems.length > 0 ? z.NEVER : source;
  });
}

/** A webhook's `template: { body | bodyFile }`: the request body, JSON. */
export function webhookTemplate() {
  return orEmpty(
    strict({ body: templateText('json').optional(), bodyFile: templateFile('json').optional() })
      .superRefine((t, ctx) => oneOf(t, ctx, ['body', 'bodyFile']), ACROSS_KEYS)
      .transform((t) => ({ body: (t.body ?? t.bodyFile)! }))
      .optional(),
  );
}

/** A mail's `template: { subject, text | textFile }`: either or both; what is left out is the default. */
export function emailTemplate() {
  return orEmpty(
    strict({ subject: templateText('text').optional(), text: templateText('text').optional(), textFile: templateFile('text').optional() })
      .superRefine((t, ctx) => {
        oneOf(t, ctx, ['text', 'textFile'], false);
        if (t.subject === undefined && t.text === undefined && t.textFile === undefined) {
          ctx.addIssue({ code: 'custom', path: [], input: undefined, message: 'set subject, text or textFile (or leave template out for the default message)' });
        }
      }, ACROSS_KEYS)
      .transform((t) => ({ subject: t.subject, text: t.text ?? t.textFile }))
      .optional(),
  );
}
