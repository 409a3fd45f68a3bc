// What an HTTP field value may hold besides line breaks (which the watch file's checks tell apart): visible
// ASCII, Latin-1, spaces and tabs (RFC 9110), the check undici makes on every request it sends.
const NOT_HTTP_FIELD_TEXT = /[^\t\r\n\x20-\x7e\x80-\xff]/;

/** Whether `text` can be sent in an HTTP header, line breaks aside. */
export function isHttpFieldText(text: string): boolean {
  return !NOT_HTTP_FIELD_TEXT.test(text);
}

/** What is wrong with a value that is not: "holds ..." in a message that names the value, never quotes it. */
export const NOT_HTTP_FIELD_TEXT_PROBLEM = 'a character an HTTP header cannot carry (a control character, or one beyond Latin-1 such as €): write it in ASCII';
