import { stat } from 'node:fs/promises';
import { errorCode } from '../net/failure.ts';

/**
 * Whether the file at `path` may still be there: false only when it is known gone (ENOENT). A look that
 * fails otherwise (a permission, an I/O error of the volume) proves no removal, and a removal is what the
 * callers act on (they write the whole state again, or say the state is gone).
 */
export function notRemoved(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (err: unknown) => errorCode(err) !== 'ENOENT',
  );
}
