/**
 * `text` with each of `secrets` replaced by `<hidden>`: for what a receiver or a cloud answered, which may
 * repeat the request it got (a gateway echoing its headers, a validation error quoting a field) and then
 * becomes an error message, a log line, a notification or the state. A secret under 4 characters is left
 * alone: hiding it would garble ordinary text and hide nothing.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4 && out.includes(secret)) out = out.replaceAll(secret, '<hidden>');
  return out;
}
