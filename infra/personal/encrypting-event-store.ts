import type { Recorded } from '../../domain/events';
import type { Position } from '../../domain/shared/envelope';
import type {
  AppendRequest,
  AppendResult,
  ChainOrigin,
  EventStore,
  ExpectedVersion,
  NewEvent,
  ReadAllOptions,
  ReadAllResult,
  ReadStoredOptions,
  ReadStoredResult,
  SubscribeOptions,
  Subscription,
  SubscriptionHandler,
} from '../eventstore/port';
import type { PersonalData } from './personal-data';

/**
 * Any event store, with personal data encrypted on the way in and decrypted on
 * the way out (R-ACC-3): the log, its hash chain and an export hold only
 * ciphertext; deciders, projections and consumers read the clear values, or
 * ERASED once the person's key is gone. `readStored` answers events exactly as
 * stored (an export shows the clear values beside them, under `personal`).
 */
export class EncryptingEventStore implements EventStore {
  constructor(
    private readonly inner: EventStore,
    readonly personal: PersonalData,
  ) {}

  /** The events as stored, personal data sealed: what may leave Gatehouse (`gatehouse.events`), where an erasure must still reach. */
  get stored(): EventStore {
    return this.inner;
  }

  get name(): string {
    return this.inner.name;
  }

  get atomicMultiStream(): boolean {
    return this.inner.atomicMultiStream;
  }

  async append(stream: string, events: NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    return this.inner.append(stream, await this.seal(events), expected);
  }

  async appendMany(requests: AppendRequest[]): Promise<AppendResult[]> {
    // One batch of keys for the whole commit: a bulk import's thousand new people cost one key transaction.
    const data = await this.personal.sealAll(requests.flatMap((r) => r.events));
    let i = 0;
    return this.inner.appendMany(requests.map((r) => ({ ...r, events: r.events.map((e) => ({ ...e, data: data[i++] })) })));
  }

  async readStream(stream: string, fromVersion?: number): Promise<Recorded[]> {
    return this.personal.open(await this.inner.readStream(stream, fromVersion));
  }

  async readAll(from: Position, options?: ReadAllOptions): Promise<ReadAllResult> {
    const { events, next } = await this.inner.readAll(from, options);
    return { events: await this.personal.open(events), next };
  }

  readStored(from: Position, options?: ReadStoredOptions): Promise<ReadStoredResult> {
    return this.inner.readStored(from, options);
  }

  chainOrigin(): Promise<ChainOrigin> {
    return this.inner.chainOrigin();
  }

  headPosition(): Promise<Position> {
    return this.inner.headPosition();
  }

  subscribe(handler: SubscriptionHandler, options: SubscribeOptions): Subscription {
    return this.inner.subscribe(async (events, checkpoint) => handler(await this.personal.open(events), checkpoint), options);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  async close(): Promise<void> {
    await this.inner.close();
    await this.personal.close();
  }

  /** The adapter underneath, for what only it offers (a test's look at the stored bytes). */
  get unwrapped(): EventStore {
    return this.inner;
  }

  /**
   * Sealed the same way every time for the same batch would be nicer, but AES-GCM
   * takes a fresh nonce: a retried batch carries the same event ids, which is what
   * every adapter recognises a retry by, not its bytes.
   */
  private async seal(events: NewEvent[]): Promise<NewEvent[]> {
    const data = await this.personal.sealAll(events);
    return events.map((event, i) => ({ ...event, data: data[i] }));
  }
}

/** A store's events as stored: sealed where the store encrypts, the store itself where it does not. */
export function storedEvents(store: EventStore): EventStore {
  return store instanceof EncryptingEventStore ? store.stored : store;
}
