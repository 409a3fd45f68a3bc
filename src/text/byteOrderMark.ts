/**
 * `text` without the byte order mark an editor may write at its start (Windows PowerShell's UTF8, Notepad's
 * "UTF-8 with BOM"), which it does not show: read with the mark, a file is broken at line 1, column 1, where
 * its reader sees nothing wrong. yaml skips the mark but counts it in its offsets, which put every column of
 * line 1 one too far; JSON.parse refuses it. add and remove splice the text as the file holds it, mark and all.
 */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
