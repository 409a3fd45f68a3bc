import { chmod, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fileSignature, sameSignature } from '../../src/files/fileSignature.ts';
import { tempFolderEach } from '../tempFolder.ts';

let file: string;
tempFolderEach('eaw-signature-', (made) => {
  file = join(made, 'watch.yaml');
});

it("tells apart a file whose mode alone changed: the daemon, refused it, reads it again once it is let in", async () => {
  await writeFile(file, 'watches: []\n', { mode: 0o600 });
  const written = new Date(Date.now() - 60_000);
  await utimes(file, written, written);
  const refused = await fileSignature(file);
  expect(sameSignature(await fileSignature(file), refused)).toBe(true);
  // The ctime moves at the chmod, in whole milliseconds at the coarsest (ext4 and tmpfs keep nanoseconds).
  await new Promise((resolve) => setTimeout(resolve, 5));
  await chmod(file, 0o644);
  const after = await fileSignature(file);
  expect(after).toMatchObject({ size: refused!.size, mtimeMs: refused!.mtimeMs, ino: refused!.ino });
  expect(sameSignature(after, refused)).toBe(false);
});
