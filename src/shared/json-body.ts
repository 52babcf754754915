import secureJson from 'secure-json-parse';
import { apiError } from './api-error';
import { isWellFormed } from './validators';

/** R-SEC-5: deeper bodies are refused before anything recurses into them (the validation pipe does). */
export const MAX_JSON_DEPTH = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A request body as the API accepts it: a UTF-8 JSON object without a byte-order mark, at most 32 levels
 * deep, without prototype keys, every string and key well-formed Unicode. Anything else is an ApiError (4xx
 * with a code), never a value a later stage could trip on. An empty body is `undefined`.
 */
export function parseJsonBody(contentType: string | undefined, raw: Buffer): unknown {
  const charset = charsetOf(contentType);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw apiError('unsupported_media_type', 'JSON bodies are accepted in UTF-8 only', { charset });
  }
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw apiError('malformed_unicode', 'the request body is not valid UTF-8');
  }
  if (text.charCodeAt(0) === 0xfeff) throw apiError('malformed_json', 'the request body starts with a byte-order mark, which JSON does not allow');
  if (text === '') return undefined;
  if (deeperThan(text, MAX_JSON_DEPTH)) {
    throw apiError('too_deep', `the request body is nested deeper than ${MAX_JSON_DEPTH} levels`, { maxDepth: MAX_JSON_DEPTH });
  }
  let value: unknown;
  try {
    value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw apiError('malformed_json', 'the request body is not valid JSON');
  }
  if (!everyStringWellFormed(value)) throw apiError('malformed_unicode', 'the request body holds a string that is not well-formed Unicode (a lone surrogate)');
  // Every body is an object: `null` would pass the validation pipe as `{}`, an array as a list of bodies.
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw apiError('validation_failed', 'the request body must be a JSON object', { fields: [{ field: '', problems: ['the request body must be a JSON object'] }] });
  }
  return value;
}

/** The `charset` parameter of a media type, lower-cased and unquoted; undefined when there is none. */
function charsetOf(contentType: string | undefined): string | undefined {
  for (const parameter of (contentType ?? '').split(';').slice(1)) {
    const [name, ...rest] = parameter.split('=');
    if (name.trim().toLowerCase() === 'charset') return rest.join('=').trim().replace(/^"(.*)"$/, '$1').toLowerCase();
  }
  return undefined;
}

/** Counts brackets outside strings, without parsing: a body too deep to walk is refused before JSON.parse sees it. */
function deeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Valid UTF-8 holds no surrogate, but a `\ud800` escape in JSON makes one: every key and string is checked, iteratively. */
function everyStringWellFormed(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'string') {
      if (!isWellFormed(next)) return false;
    } else if (Array.isArray(next)) {
      for (const inner of next) pending.push(inner); // not push(...next): a long array would overflow the arguments
    } else if (next !== null && typeof next === 'object') {
      for (const [key, inner] of Object.entries(next)) {
        if (!isWellFormed(key)) return false;
        pending.push(inner);
      }
    }
  }
  return true;
}
