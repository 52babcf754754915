import type { Condition, Doc, Query } from './port';

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

/**
 * A bound on the first sort key that every row after the cursor satisfies. The
 * alternatives alone are an OR, which gives an index no range to seek to; with this
 * bound beside them the store starts its scan at the cursor.
 */
export function keysetBound(query: Query): { field: string; op: 'gte' | 'lte'; value: string | number } | undefined {
  if (!query.after) return undefined;
  keysetAlternatives(query); // checks the cursor's shape
  const [field, direction] = query.orderBy[0];
  return { field, op: direction === 'asc' ? 'gte' : 'lte', value: query.after[0] };
}

/**
 * The first `query.limit` documents of the alternatives' pages, each page already
 * in order and cut to the limit: the union's first rows are among them.
 */
export function mergePages<D extends Doc>(query: Query, pages: D[][]): D[] {
  const byId = new Map<string, D>();
  for (const page of pages) for (const doc of page) byId.set(doc.id, doc);
  return [...byId.values()].sort(compareDocs(query.orderBy)).slice(0, query.limit);
}

/**
 * Documents in `orderBy` order as the stores sort them: a missing value first, then
 * numbers, then text in code point order (SQLite's BINARY collation and MongoDB's
 * default both compare UTF-8 bytes, which is that order). Booleans count as 0 and 1,
 * as SQLite stores them (MongoDB sorts them after text; no list sorts by one).
 */
export function compareDocs(orderBy: Query['orderBy']): (a: Doc, b: Doc) => number {
  return (a, b) => {
    for (const [field, direction] of orderBy) {
      const order = compareValues((a as unknown as Record<string, unknown>)[field], (b as unknown as Record<string, unknown>)[field]);
      if (order !== 0) return direction === 'asc' ? order : -order;
    }
    return 0;
  };
}

const rank = (v: unknown) => (v === undefined || v === null ? 0 : typeof v === 'number' || typeof v === 'boolean' ? 1 : 2);

function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb || ra === 0) return ra - rb;
  if (ra === 1) return Number(a) - Number(b);
  return compareCodePoints(String(a), String(b));
}

/** UTF-16 order puts U+E000–U+FFFF after the surrogate pairs of higher code points: shift both back into code point order. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrder(x) - codePointOrder(y);
  }
  return a.length - b.length;
}

const codePointOrder = (unit: number) => (unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit);
