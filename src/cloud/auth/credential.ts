// A secret given in the watch file (`token: ${ECS_TOKEN}`) or as a file (`tokenFile: /run/secrets/token`).
// A file is read again when it changes, so that a rotated credential (a Kubernetes Secret is updated in
// place, by swapping a symlink) needs no restart.

import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { fileProblem } from '../../files/fileProblem.ts';
import { errorCode } from '../../net/failure.ts';
import { readRegularFile, readRegularFileSync } from '../../files/readRegularFile.ts';
import { isHttpFieldText, NOT_HTTP_FIELD_TEXT_PROBLEM } from '../../net/httpFieldText.ts';
import { CredentialError, TOKEN_WITH_SPACE, tokenHoldsSpace } from './CredentialError.ts';

// A token, key or password is a few kilobytes at most (a PKI token was ~8 KiB).
const MAX_CREDENTIAL_BYTES = 64 * 1024;
/**
 * UTF-8 or refused, as the watch file is: a password saved in Latin-1 (a Windows editor's) or UTF-16
 * (PowerShell's `>`) was read with U+FFFD in it, or as lines broken by its NULs, and the identity service's
 * refusal of what was sent told as a wrong password.
 */
const READ = { strictUtf8: true };

/** How often a credential file's metadata is compared at most: cheap, and quick enough for a rotation. */
export const RECHECK_MS = 1000;

/**
 * The value of a secret file: surrounding whitespace (the newline `echo` adds) is not part of it, and a
 * line break inside would end the header it is sent in.
 */
function parse(text: string, key: string, file: string, sentInHeader: boolean): string {
  const value = text.trim();
  if (value === '') throw new CredentialError(`cloud.auth.${key} ${file} is empty`);
  if (/[\r\n]/.test(value)) throw new CredentialError(`cloud.auth.${key} ${file} holds more than one line: write the secret alone`);
  if (key === 'tokenFile' && tokenHoldsSpace(value)) throw new CredentialError(`cloud.auth.${key} ${file} ${TOKEN_WITH_SPACE}`);
  // As the watch file's own values are checked: undici would refuse every request that carries it.
  if (sentInHeader && !isHttpFieldText(value)) throw new CredentialError(`cloud.auth.${key} ${file} holds ${NOT_HTTP_FIELD_TEXT_PROBLEM}`);
  return value;
}

// What the kernel answers for a name that is no file: for a secret written under `<key>File` too.
const NO_FILE = new Set(['ENOENT', 'ENAMETOOLONG', 'ENOTDIR']);

/**
 * `cloud.auth.<key>File <file>: <why it could not be read>`, the file not shown where it is a name that is
 * no file and may be the secret itself written under `<key>File` in place of `<key>` (`tokenFile:
 * ${ECS_AUTH_TOKEN}`, a password pasted on the wrong line), which validate's warning, check's and wait's
 * error and run's log would print: a relative name, or a path from the root whose first folder is not there.
 * Standard base64 (a security token's, a password's) may start with `/` and hold more; a file's path starts
 * with a folder of the machine (/run, /etc, /var), there where the file is missing too.
 */
function fileNamed(key: string, file: string, err: unknown): string {
  const code = errorCode(err);
  if (code === undefined || !NO_FILE.has(code) || (isAbsolute(file) && firstFolderThere(file))) return `cloud.auth.${key} ${file}: ${fileProblem(err)}`;
  const secretKey = key.slice(0, -'File'.length);
  const why = isAbsolute(file) ? 'a path whose first folder is not on this machine' : 'a name from the working folder';
  const advice = isAbsolute(file) ? '' : '; a file is best named from the root';
  return `cloud.auth.${key}: ${fileProblem(err)} (its value, ${why}, is not shown: it may be the secret itself, which goes under cloud.auth.${secretKey}${advice})`;
}

/** Whether the folder that `path` (from the root) names first is there: /run of /run/secrets/token. */
function firstFolderThere(path: string): boolean {
  const first = /^\/+([^/]+)\//.exec(path)?.[1];
  return first !== undefined && statSync(`/${first}`, { throwIfNoEntry: false })?.isDirectory() === true;
}

function fingerprint(s: { mtimeMs: number; ctimeMs: number; ino: number; size: number }): string {
  return `${s.mtimeMs}/${s.ctimeMs}/${s.ino}/${s.size}`;
}

/**
 * What keeps each credential file the auth settings name (`tokenFile`, `passwordFile`, `secretKeyFile`...:
 * every `<key>File`) from being read here, as `run` reads it at start. `validate` says it as a warning:
 * the file may be there only where `run` runs (a mounted Secret).
 */
export function credentialFileProblems(auth: object): string[] {
  const problems: string[] = [];
  for (const [key, file] of Object.entries(auth)) {
    if (!key.endsWith('File') || typeof file !== 'string') continue;
    try {
      new Credential(key.slice(0, -'File'.length), undefined, file);
    } catch (err) {
      if (!(err instanceof CredentialError)) throw err;
      problems.push(`${err.message}: run stops at start with it, unless the file is there where it runs`);
    }
  }
  return problems;
}

export class Credential {
  readonly #key: string;
  readonly #file: string | undefined;
  /** Sent in an HTTP header (a token, an access key), rather than signing or a request body. */
  readonly #sentInHeader: boolean;
  #value: string;
  #stamp = '';
  /** performance.now(): this host's clock set back must not keep a rotated file unread for as long. */
  #checkedAt = 0;
  #version = 0;
  /** The look that value() started and has not finished: every request that finds one due meanwhile waits for it. */
  #looking: Promise<boolean> | undefined;

  /**
   * `value` or `file` (the `<key>File` key). A file is read here, synchronously, so that a missing one
   * stops the daemon at start with its name rather than failing every poll.
   */
  constructor(key: string, value: string | undefined, file: string | undefined, options: { sentInHeader?: boolean } = {}) {
    this.#key = file === undefined ? key : `${key}File`;
    this.#file = file;
    this.#sentInHeader = options.sentInHeader ?? false;
    if (file === undefined) {
      if (value === undefined) throw new CredentialError(`cloud.auth.${key} is not set`);
      this.#value = value;
      return;
    }
    try {
      this.#value = parse(readRegularFileSync(file, MAX_CREDENTIAL_BYTES, READ), this.#key, file, this.#sentInHeader);
    } catch (err) {
      if (err instanceof CredentialError) throw err;
      throw new CredentialError(`cannot read ${fileNamed(this.#key, file, err)}`, { cause: err });
    }
    this.#checkedAt = performance.now();
  }

  /** Counts the changes of the value since start; lets a user of it tell "changed since I last used it". */
  get version(): number {
    return this.#version;
  }

  /** The value as last read, without looking at the file again. */
  get current(): string {
    return this.#value;
  }

  /** The current value; a file is looked at again when RECHECK_MS have passed since the last look. */
  async value(): Promise<string> {
    if (this.#file !== undefined && performance.now() - this.#checkedAt >= RECHECK_MS) {
      // One look, not one for each of the polls in flight that find it due before the first stat is back
      // (51 stats a second at 1,000 watches and 64 in flight, where one does).
      this.#looking ??= this.refresh().finally(() => {
        this.#looking = undefined;
      });
      await this.#looking;
    }
    return this.#value;
  }

  /**
   * Looks at the file now; true when its value changed. A file that cannot be read for the moment (a
   * rotation in progress) keeps the last value: the API's answer will say whether that still works. It is
   * looked at again RECHECK_MS later, as one that was read: while it stays missing, not at every poll.
   */
  async refresh(): Promise<boolean> {
    const file = this.#file;
    if (file === undefined) return false;
    try {
      const stamp = fingerprint(await stat(file));
      if (stamp === this.#stamp) return false;
      const value = parse(await readRegularFile(file, MAX_CREDENTIAL_BYTES, READ), this.#key, file, this.#sentInHeader);
      this.#stamp = stamp;
      if (value === this.#value) return false;
      this.#value = value;
      this.#version += 1;
      return true;
    } catch {
      return false;
    } finally {
      this.#checkedAt = performance.now();
    }
  }
}
