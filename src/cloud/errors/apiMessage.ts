import { oneLine } from '../../net/oneLine.ts';

/** What an error body says in the API's own words: `code` is its error name or code, when it has one. */
export interface ApiMessage {
  code?: string;
  message: string;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

// webob's error messages carry `<br />` line breaks meant for its HTML page.
const BREAK = /<br\s*\/?>/gi;

function make(text: string, code: string | undefined): ApiMessage {
  const message = oneLine(text.replace(BREAK, ' '));
  return code === undefined ? { message } : { code: oneLine(code, 60), message };
}

/**
 * Reads the error shapes of the APIs we talk to:
 * - Huawei Cloud / API gateway: `{"error_code": "Ecs.0114", "error_msg": "..."}`
 * - Keystone: `{"error": {"code": 401, "title": "Unauthorized", "message": "..."}}`
 * - Huawei Cloud (newer services): `{"error": {"code": "Ecs.0114", "message": "..."}}`
 * - Nova: `{"itemNotFound": {"code": 404, "message": "..."}}`, and so any `{"<name>": {"message": ...}}`
 * - a bare `{"message": "..."}` as some gateways send.
 */
export function extractApiMessage(body: unknown): ApiMessage | undefined {
  if (!isObject(body)) return undefined;

  const huaweiMessage = str(body['error_msg']);
  if (huaweiMessage !== undefined) return make(huaweiMessage, str(body['error_code']));

  const error = body['error'];
  if (isObject(error)) {
    const message = str(error['message']);
    // Keystone's numeric code only repeats the status; its title is the name.
    if (message !== undefined) return make(message, str(error['code']) ?? str(error['title']));
  }

  for (const [name, value] of Object.entries(body)) {
    if (!isObject(value)) continue;
    const message = str(value['message']);
    if (message !== undefined) return make(message, name);
  }

  const bare = str(body['message']);
  return bare === undefined ? undefined : make(bare, str(body['code']));
}

/**
 * The API message of a raw error body: JSON when it parses, else plain text (webob answers
 * `404 Not Found\n\nThe resource could not be found.` as text). HTML pages of proxies say nothing useful.
 */
export function apiMessageFromText(text: string): ApiMessage | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    return extractApiMessage(JSON.parse(trimmed));
  } catch {
    return trimmed.startsWith('<') ? undefined : { message: oneLine(trimmed, 200) };
  }
}
