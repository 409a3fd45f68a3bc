import { symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRegularFile, readRegularFileSync } from '../../src/files/readRegularFile.ts';
import { fileProblem } from '../../src/files/fileProblem.ts';
import { runIsolated, sourceModule } from '../isolated.ts';
import { tempFolderEach } from '../tempFolder.ts';

let file: string;
tempFolderEach('eaw-read-regular-', (made) => {
  file = join(made, 'watch.yaml');
});

// Both reads make the same checks: each test runs on the two.
const reads = [
  ['readRegularFile', readRegularFile],
  ['readRegularFileSync', async (path: string, maxBytes: number, options?: { strictUtf8?: boolean }) => readRegularFileSync(path, maxBytes, options)],
] as const;

describe.each(reads)('%s', (_name, read) => {
  it('reads a file of exactly the bytes allowed, and refuses one a byte longer, its size rounded up', async () => {
    await writeFile(file, 'x'.repeat(1024));
    expect(await read(file, 1024)).toBe('x'.repeat(1024));
    await writeFile(file, 'x'.repeat(1025));
    await expect(read(file, 1024)).rejects.toThrow('is 1.1 KiB, more than the 1 KiB allowed');
  });

  it('reads as UTF-8 a file that holds U+FFFD itself, and says where one that is not UTF-8 stops being it', async () => {
    await writeFile(file, 'name: caf\uFFFD\n');
    expect(await read(file, 1024, { strictUtf8: true })).toBe('name: caf\uFFFD\n');
    // U+FFFD after a character of two bytes, where its place in the bytes is not its place in the text.
    await writeFile(file, Buffer.concat([Buffer.from('é: \uFFFD\nname: caf', 'utf8'), Buffer.from([0xe9]), Buffer.from('\n')]));
    await expect(read(file, 1024, { strictUtf8: true })).rejects.toThrow('is not UTF-8 text (line 2, column 10 is not): save it as UTF-8');
  });

  // Windows PowerShell's > and Out-File, and Notepad's "Unicode", write UTF-16 with its byte order mark: the
  // editor shows line 1, column 1 as any other, and what is wrong is the whole file's encoding.
  it.each([['little-endian', [0xff, 0xfe]], ['big-endian', [0xfe, 0xff]]])('says a file is UTF-16 (%s) rather than where it stops being UTF-8', async (_order, mark) => {
    const text = Buffer.from('cloud:\n', 'utf16le');
    const bytes = mark[0] === 0xff ? text : Buffer.from(text.map((_, i) => text[i ^ 1]!));
    await writeFile(file, Buffer.concat([Buffer.from(mark), bytes]));
    await expect(read(file, 1024, { strictUtf8: true })).rejects.toThrow(/^is UTF-16 text \(its first bytes, a byte order mark, say so\), not UTF-8: save it as UTF-8$/);
  });

  // `ls` lists the file (a link whose target went away, a ConfigMap's swap undone by hand): "no such file"
  // alone sent the operator looking at the wrong name.
  it('says of a symbolic link to nothing where it points', async () => {
    const link = join(dirname(file), 'dangling.yaml');
    await symlink(join(dirname(file), 'gone', 'watch.yaml'), link);
    const err: unknown = await read(link, 1024).then(() => undefined, (e: unknown) => e);
    expect(fileProblem(err)).toBe(`no such file (it is a symbolic link to ${join(dirname(file), 'gone', 'watch.yaml')}, which is not there)`);
    expect(fileProblem(await read(join(dirname(file), 'none.yaml'), 1024).then(() => undefined, (e: unknown) => e))).toBe('no such file');
  });

  it('counts no column for the byte order mark an editor may write and never shows', async () => {
    await writeFile(file, Buffer.concat([Buffer.from('\uFEFFname: caf', 'utf8'), Buffer.from([0xe9]), Buffer.from('\n')]));
    await expect(read(file, 1024, { strictUtf8: true })).rejects.toThrow('is not UTF-8 text (line 1, column 10 is not): save it as UTF-8');
  });
});

/**
 * The bytes outside V8's heap (Node's buffers) that readRegularFile leaves behind it, once, for a file of
 * `size` bytes: in a process of its own, read before any garbage collection can free them.
 */
function bufferBytesLeftByRead(path: string, size: number): number {
  const body = `
    import { writeFileSync } from 'node:fs';
    const { readRegularFile } = await import(${sourceModule('files/readRegularFile.ts')});
    writeFileSync(${JSON.stringify(path)}, 'x'.repeat(${size}));
    const before = process.memoryUsage().arrayBuffers;
    const text = await readRegularFile(${JSON.stringify(path)}, ${size});
    process.stdout.write(JSON.stringify({ left: process.memoryUsage().arrayBuffers - before, read: text.length }));
  `;
  const { left, read } = JSON.parse(runIsolated(body)) as { left: number; read: number };
  expect(read).toBe(size);
  return left;
}

it('holds one buffer of the file\'s bytes while it reads it whole, not a copy beside it (a state file of 9 MB at 10,000 watches)', () => {
  const size = 16 * 1024 * 1024;
  // About twice the size when the one read's bytes are copied into a buffer of their own.
  expect(bufferBytesLeftByRead(file, size)).toBeLessThan(1.5 * size);
});
