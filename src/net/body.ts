import type { Readable } from 'node:stream';

/**
 * Keeps the first `keep` bytes of a body and reads on, dropping the rest, up to `drain` bytes: a body read
 * to its end leaves the connection free for the next request. Past `drain` the connection is closed.
 * `truncated` says whether more than `keep` bytes came.
 */
export function readBody(body: Readable, keep: number, drain: number): Promise<{ text: string; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => ({ text: Buffer.concat(chunks).toString('utf8'), truncated: size > keep });
    body.on('data', (chunk: Buffer) => {
      if (size < keep) chunks.push(chunk.subarray(0, keep - size));
      size += chunk.length;
      if (size > drain) {
        resolve(done());
        body.destroy();
      }
    });
    body.on('end', () => resolve(done()));
    body.on('error', reject);
  });
}
