import { dispatch, EVENT_TYPES, type EventHandlers, type EventType, type Recorded } from '../domain/events';

/** A read-model document: an id, and the position of the last event folded into it. */
export interface Doc {
  id: string;
  /** Position (as a decimal string) of the last event applied: replaying an older event onto the doc is skipped. */
  _pos?: string;
}

/**
 * The documents a projection reads and writes while it folds one batch of
 * events. The runner owns loading, batching, checkpoints and the position guard;
 * a projection only says how each event changes which documents.
 */
export interface Workspace {
  get<D extends Doc>(collection: string, id: string): Promise<D | undefined>;
  put<D extends Doc>(collection: string, doc: D): void;
  delete(collection: string, id: string): void;
  /** Ids of the documents whose `field` is `value`, as this event finds them: for an event that ends many at once (an erasure). */
  idsWhere(collection: string, field: string, value: string): Promise<string[]>;
}

export interface Projection {
  /** Versioned: a new shape gets a new name and is rebuilt beside the old one. */
  name: string;
  collections: readonly string[];
  handles: readonly EventType[];
  apply(event: Recorded, docs: Workspace): Promise<void>;
}

/** How each event changes the documents: one reducer per event type, typed by that event. */
export type Reducers = EventHandlers<[docs: Workspace], Promise<void> | void>;

/** A projection from a reducer table: it handles exactly the types it has a reducer for. */
export function projection(name: string, collections: readonly string[], reducers: Reducers): Projection {
  return compose(name, collections, reducers);
}

/**
 * One projection from several read models' tables, each in its own file: it
 * handles what any of them handles, and runs every table's reducer of an event,
 * in the order given, on the same documents. A table may read what an earlier
 * one wrote for the same event; batching, checkpoints and the position guard stay
 * the runner's, so the documents commit together as one projection's.
 */
export function compose(name: string, collections: readonly string[], ...tables: Reducers[]): Projection {
  return {
    name,
    collections,
    handles: EVENT_TYPES.filter((type) => tables.some((table) => table[type] !== undefined)),
    async apply(event, docs) {
      for (const table of tables) await dispatch(table, event, docs);
    },
  };
}

/** When an event was recorded, as documents keep times. */
export const recordedAt = (event: Recorded): string => event.recordedAt.toISOString();

/** A profile text: null or absent is empty (the edge refuses null; an event recorded before it did may hold one). */
export const text = (value: string | null | undefined): string => value ?? '';

/** Lower-cased and accent-folded, for case- and accent-insensitive prefix search (R-LIST-2, R-LIST-3). */
export function fold(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // every combining mark, not only U+0300–036F
    .toLowerCase()
    .replace(/[łøđðħŧßæœþı]/g, (letter) => LETTERS[letter])
    .trim();
}

/** Letters that carry no combining mark to strip, spelt as a person searching would type them. */
const LETTERS: Record<string, string> = { ł: 'l', ø: 'o', đ: 'd', ð: 'd', ħ: 'h', ŧ: 't', ß: 'ss', æ: 'ae', œ: 'oe', þ: 'th', ı: 'i' };
