import { dispatch, handledBy, type EventHandlers, type EventType, type Recorded } from '../../domain/events';
import type { Changes, ReadStore } from '../../infra/readstore/port';
import type { Doc } from '../../projections/projection';

/** Something a consumer does outside Gatehouse (an email, a Stripe call): retried, then dead-lettered. */
export type Effect = () => Promise<void>;

/**
 * A consumer of the log (SPEC 3.2): it folds the events it handles into its own
 * documents and says which effect each one calls for. The runner retries the
 * effect with backoff and, after the last try, sends it to the dead letters; the
 * documents and the checkpoint are written after the effect either way.
 */
export interface Consumer {
  name: string;
  handles: readonly EventType[];
  /**
   * `redrive` is true when an operator re-drives a dead letter: the event was
   * folded already, and the effect to carry out now is decided on today's documents.
   */
  handle(event: Recorded, scope: ConsumerScope, redrive: boolean): Promise<Effect | undefined>;
}

/** One handler per event type a consumer handles, each typed by its event. */
export type ConsumerHandlers = EventHandlers<[scope: ConsumerScope, redrive: boolean], Promise<Effect | undefined>>;

/** A consumer whose handled types are the keys of its handler table. */
export abstract class TableConsumer implements Consumer {
  abstract readonly name: string;
  protected abstract readonly on: ConsumerHandlers;

  get handles(): readonly EventType[] {
    return handledBy(this.on);
  }

  async handle(event: Recorded, scope: ConsumerScope, redrive: boolean): Promise<Effect | undefined> {
    return dispatch(this.on, event, scope, redrive);
  }
}

export { PermanentFailure } from '../../infra/permanent-failure';

/** A consumer's own documents while it handles one event; written with its checkpoint. */
export class ConsumerScope {
  private readonly puts = new Map<string, { collection: string; doc: Doc }>();

  constructor(
    private readonly readStore: ReadStore,
    readonly event: Recorded,
  ) {}

  async get<D extends Doc>(collection: string, id: string): Promise<D | undefined> {
    const put = this.puts.get(`${collection}\u0000${id}`);
    if (put) return put.doc as D;
    return (await this.readStore.getMany<D>(collection, [id])).get(id);
  }

  /** Whether `doc` has already folded this event in (a replay after a crash). */
  holds(doc: Doc | undefined): boolean {
    return !!doc?._pos && BigInt(doc._pos) >= this.event.position;
  }

  put<D extends Doc>(collection: string, doc: D): void {
    this.puts.set(`${collection}\u0000${doc.id}`, { collection, doc: { ...doc, _pos: this.event.position.toString() } });
  }

  changes(extra: Array<{ collection: string; doc: Doc }> = []): Changes {
    return { puts: [...this.puts.values(), ...extra], deletes: [] };
  }
}

/** A stable UUID-shaped id derived from a text: the same input always names the same event. */
export function derivedEventId(hashHex: string): string {
  const h = hashHex.slice(0, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

