import { renameSync, writeFileSync } from 'node:fs';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { editWatchFile } from '../../src/cli/editWatchFile.ts';
import { tempFolderEach } from '../tempFolder.ts';
import { commandContext } from './commandContext.ts';

const CLOUD = 'cloud:\n  endpoint: https://ecs.example.com\n  projectId: p1\n  auth: { type: token, token: T }\n';

let dir: string;
let path: string;
tempFolderEach('eaw-edit-watch-file-', (made) => {
  dir = made;
  path = join(made, 'watch.yaml');
});

describe('editWatchFile', () => {
  // An editor or a copy does not take the edit lock: a save that lands between the read and the rename must
  // not be replaced by the edit of the version before it.
  it.each([
    ['written in place (a copy, cat >)', (text: string) => writeFileSync(path, text)],
    ['renamed into place (an editor\'s save)', (text: string) => {
      writeFileSync(`${path}.saving`, text);
      renameSync(`${path}.saving`, path);
    }],
  ])('makes the edit again on a version of the file %s while the edit was being made', async (_, save) => {
    await writeFile(path, `${CLOUD}watches: []\n`);
    const saved = `${CLOUD}# the operator's save\nwatches: []\n`;
    const seen: string[] = [];
    const done = await editWatchFile(commandContext(path), (text) => {
      seen.push(text);
      if (seen.length === 1) save(saved);
      return { text: `${text}# edited\n` };
    });
    expect(await readFile(path, 'utf8')).toBe(`${saved}# edited\n`);
    expect(done?.text).toBe(`${saved}# edited\n`);
    expect(seen.at(-1)).toBe(saved);
    expect((await readdir(dir)).sort()).toEqual(['watch.yaml']);
  });

  it('gives up, writing nothing, on a file that changes at every try (something writing to it all the time)', async () => {
    await writeFile(path, `${CLOUD}watches: []\n`);
    let saves = 0;
    const edit = (text: string) => {
      // Each of another size: two writes within a tick of the kernel's clock stamp the same mtime.
      writeFileSync(path, `${CLOUD}# save ${'I'.repeat(++saves)}\nwatches: []\n`);
      return { text: `${text}# edited\n` };
    };
    await expect(editWatchFile(commandContext(path), edit)).rejects.toThrow(`${path} kept changing while it was being edited (is something writing to it?); it was left as it is`);
    expect(saves).toBe(5);
    expect(await readFile(path, 'utf8')).toBe(`${CLOUD}# save IIIII\nwatches: []\n`);
    expect((await readdir(dir)).sort()).toEqual(['watch.yaml']);
  });

  it('removes the new copies that edits killed before their rename left beside the file, once they are a minute old', async () => {
    await writeFile(path, `${CLOUD}watches: []\n`);
    // As a kill (Ctrl-C twice, SIGKILL, OOM) between the copy's write and its rename leaves them.
    const [old, fresh] = ['.watch.yaml.tmp-0a4c', '.watch.yaml.tmp-77e1'];
    for (const name of [old, fresh]) await writeFile(join(dir, name), `${CLOUD}watches: [`);
    const then = new Date(Date.now() - 61_000);
    await utimes(join(dir, old), then, then);
    await editWatchFile(commandContext(path), (text) => ({ text: `${text}# edited\n` }));
    expect((await readdir(dir)).sort()).toEqual([fresh, 'watch.yaml']);
  });
});
