import type { Condition, Query } from './port';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Field and collection names go into query text: only plain identifiers are allowed. */
export function checkName(name: string): string {
  if (!NAME.test(name)) throw new Error(`not a field or collection name: ${name}`);
  return name;
}

/** The upper bound of a text prefix range: every string starting with `prefix` sorts below it. */
export function prefixEnd(prefix: string): string {
  return prefix + '\u{10FFFF}';
}

export function isRange(c: Condition): c is { gt: string | number } | { lt: string | number } {
  return typeof c === 'object' && ('gt' in c || 'lt' in c);
}

/**
 * Keyset pagination as a list of alternatives: for orderBy (a, b, id) after (x, y, z):
 * a beyond x, or a = x and b beyond y, or a = x and b = y and id beyond z.
 */
export function keysetAlternatives(query: Query): Array<Array<{ field: string; op: 'eq' | 'gt' | 'lt'; value: string | number }>> {
  if (!query.after) return [];
  const { orderBy, after } = query;
  if (orderBy.length !== after.length || orderBy[orderBy.length - 1][0] !== 'id') throw new Error('a cursor needs one value per orderBy field, ending with id');
  return orderBy.map((_, i) => [
    ...orderBy.slice(0, i).map(([field], j) => ({ field, op: 'eq' as const, value: after[j] })),
    { field: orderBy[i][0], op: orderBy[i][1] === 'asc' ? ('gt' as const) : ('lt' as const), value: after[i] },
  ]);
}
