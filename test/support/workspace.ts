import { randomUUID } from 'node:crypto';
import { EVENT_VERSIONS, type DataOf, type EventType, type Recorded, type RecordedOf } from '../../domain/events';
import type { Actor, Envelope } from '../../domain/shared/envelope';
import type { Doc, Projection, Workspace } from '../../projections/projection';

/**
 * The documents of a projection in memory, for specs that run a fold on events
 * without a database: what the runner would write, minus its batching,
 * checkpoints and position guard (that is the runner's, and tested with it).
 */
export class MemoryWorkspace implements Workspace {
  private readonly collections = new Map<string, Map<string, Doc>>();

  /** `collections`: those the projection declares; writing any other fails, as a rebuild would not reset it. */
  constructor(private readonly declared?: readonly string[]) {}

  async get<D extends Doc>(collection: string, id: string): Promise<D | undefined> {
    return this.doc<D>(collection, id);
  }

  put<D extends Doc>(collection: string, doc: D): void {
    this.collection(collection).set(doc.id, structuredClone(doc));
  }

  delete(collection: string, id: string): void {
    this.collection(collection).delete(id);
  }

  async idsWhere(collection: string, field: string, value: string): Promise<string[]> {
    return [...(this.collections.get(collection)?.values() ?? [])].filter((doc) => (doc as unknown as Record<string, unknown>)[field] === value).map((doc) => doc.id);
  }

  /** One document as the fold left it (a copy). */
  doc<D extends Doc>(collection: string, id: string): D | undefined {
    const doc = this.collections.get(collection)?.get(id);
    return doc && (structuredClone(doc) as D);
  }

  /** Every document of a collection, by id. */
  all<D extends Doc>(collection: string): D[] {
    return [...(this.collections.get(collection)?.values() ?? [])].map((doc) => structuredClone(doc) as D).sort((a, b) => a.id.localeCompare(b.id));
  }

  private collection(name: string): Map<string, Doc> {
    if (this.declared && !this.declared.includes(name)) throw new Error(`the projection writes ${name}, which it does not declare`);
    let docs = this.collections.get(name);
    if (!docs) this.collections.set(name, (docs = new Map()));
    return docs;
  }
}

/** Given events, the documents: folds them in order, as the runner would, each through `projection.apply`. */
export async function replay(projection: Projection, events: readonly Recorded[], docs = new MemoryWorkspace(projection.collections)): Promise<MemoryWorkspace> {
  for (const event of events) if (projection.handles.includes(event.type)) await projection.apply(event, docs);
  return docs;
}

export const admin: Actor = { kind: 'user', id: 'u-admin' };

/**
 * A log to write specs' events in: each event gets the next position and a time
 * one minute after the one before (from `start`), in an envelope like the store's.
 */
export function eventLog(start = '2026-03-02T09:00:00.000Z') {
  let position = 0n;
  let time = Date.parse(start);
  const log = {
    /** The event the log records next; `envelope` overrides any field (a time: `recordedAt`, who: `actor`). */
    event<T extends EventType>(type: T, data: DataOf<T>, envelope: Partial<Envelope> = {}): RecordedOf<T> {
      position += 1n;
      time += 60_000;
      const recorded = {
        eventId: `event-${position}`,
        schemaVersion: EVENT_VERSIONS[type],
        stream: `stream-of-${type}`,
        streamVersion: 0,
        position,
        recordedAt: new Date(time),
        actor: admin,
        correlationId: randomUUID(),
        ...envelope,
        type,
        data,
      };
      // `RecordedOf<T>` is a conditional type TypeScript cannot resolve for a generic T: the fields above are its fields.
      return recorded as unknown as RecordedOf<T>;
    },
    /** When the last event was recorded, as documents keep times. */
    get now(): string {
      return new Date(time).toISOString();
    },
  };
  return log;
}
