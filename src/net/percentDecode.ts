/** `decodeURIComponent`, or the text as it is when it is not valid percent-encoding (a stray %). */
export function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
