/** Printing settings safely, and noticing the ones that were meant for us but are not read. */

/** A query parameter that names a secret (`?password=…`, `sslkey=…`, `token=…`). */
const SECRET_PARAM = /([?&;][^=&;#]*?(?:pass|pwd|secret|token|key|credential|signature)[^=&;#]*=)[^&;#]*/gi;
/** The scheme, kept for the reader even when mistyped (`postgres//`, `postgres:/`). */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*(?::\/*|\/\/+)/;

/**
 * A URL with its credentials masked, whether or not it parses: everything before the last `@`
 * (user, password, even one with an unencoded `@`, `/` or `#`) and secret-looking query parameters.
 * A value with no `@` that is not a URL either keeps only its scheme: where its password starts
 * cannot be told (`postgres://user:secret:host` has a forgotten `@`).
 */
export function maskUrl(value: string): string {
  const scheme = SCHEME.exec(value)?.[0] ?? '';
  const at = value.lastIndexOf('@');
  let masked: string;
  if (at >= 0) masked = `${scheme}***${value.slice(at)}`;
  else if (parses(value)) masked = value;
  else masked = `${scheme}***`;
  return masked.replace(SECRET_PARAM, '$1***');
}

function parses(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** Unknown variables that look like ours get a warning; `GATEHOUSE_*` ones and those of our families too. */
const FAMILIES = ['GATEHOUSE_', 'KAFKA_', 'POSTGRES_', 'MONGODB_', 'EVENTSTORE_', 'EVENT_STORE_', 'STRIPE_', 'POSTMARK_', 'METRICS_', 'CONSUMER_', 'SQLITE_', 'SESSION_', 'TRUST_'];

/** One line per variable that is probably a mistake; names only, never values. */
export function warningsFor(env: Record<string, string | undefined>, known: string[]): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (known.includes(name) || env[name] === undefined) continue;
    const near = closest(name, known);
    if (near) warnings.push(`${name} is not a Gatehouse setting (did you mean ${near}?)`);
    else if (FAMILIES.some((f) => name.toUpperCase().startsWith(f))) warnings.push(`${name} is not a Gatehouse setting: it is ignored`);
  }
  return warnings;
}

/** The known name this one is a slip of (case, underscores, a letter or two), if any. */
function closest(name: string, known: string[]): string | undefined {
  const squash = (s: string) => s.toUpperCase().replace(/_/g, '');
  const given = squash(name);
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const target = squash(k);
    // Short names allow one slip only: HOME is not HOST, PATH is not PORT.
    const allowed = target.length > 6 ? 2 : 1;
    const d = distance(given, target);
    if (d <= allowed && (!best || d < best.d)) best = { name: k, d };
  }
  return best?.name;
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}
