import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/files/writeFileAtomic.ts';
import { tempFolderEach } from '../tempFolder.ts';

let dir: string;
let file: string;
tempFolderEach('eaw-write-atomic-', (made) => {
  dir = made;
  file = join(dir, 'state.json');
});

describe('writeFileAtomic', () => {
  it('gives the new file the mode asked for, past the umask, and 0600 when none is', async () => {
    await writeFileAtomic(file, 'shared\n', { mode: 0o666 });
    expect((await stat(file)).mode & 0o777).toBe(0o666);
    const other = join(dir, 'private.json');
    await writeFileAtomic(other, 'private\n');
    expect((await stat(other)).mode & 0o777).toBe(0o600);
  });

  it('leaves the old file as it was and no temporary file when the text cannot be made to the end', async () => {
    await writeFile(file, 'old\n');
    function* pieces() {
      yield 'new, half';
      throw new Error('the text could not be made');
    }
    await expect(writeFileAtomic(file, pieces())).rejects.toThrow('the text could not be made');
    expect(await readFile(file, 'utf8')).toBe('old\n');
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('removes its temporary file when the rename over the target fails', async () => {
    // A folder where the file should be: the rename is refused after the text was written and synced.
    await mkdir(join(file, 'in-the-way'), { recursive: true });
    await expect(writeFileAtomic(file, 'new\n')).rejects.toMatchObject({ code: 'EISDIR', syscall: 'rename' });
    expect(await readdir(dir)).toEqual(['state.json']);
    expect(await readdir(file)).toEqual(['in-the-way']);
  });
});
