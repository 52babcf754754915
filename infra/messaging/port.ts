/**
 * The message bus port: where Gatehouse publishes its events and from which its
 * consumers read them back. Kafka is the adapter (infra/messaging/kafka.ts), and
 * passes test/contract/message-bus.contract.ts; without a bus the consumers
 * follow the log itself.
 */

/** Gatehouse's topics (SPEC 3.2): `gatehouse.events`, `gatehouse.commands`, `gatehouse.dead-letters` under the default prefix. */
export interface Topics {
  events: string;
  commands: string;
  deadLetters: string;
  /** Consumer groups are named under it. */
  groupPrefix: string;
}

export interface OutgoingMessage {
  /** Messages of one key stay in one partition, in the order sent. */
  key: string;
  value: string;
  headers?: Record<string, string>;
}

export interface IncomingMessage {
  partition: number;
  offset: bigint;
  key?: string;
  value: string;
  headers: Record<string, string>;
}

export interface BusProducer {
  /** Resolves once every in-sync replica has the messages; retries on its own first. */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumeOptions {
  group: string;
  topic: string;
  /** A message's offset is committed after this resolves; a redelivered message (a rebalance, a crash before the commit) comes again. */
  handle: (message: IncomingMessage, heartbeat: () => Promise<void>) => Promise<void>;
  /** The group stopped for good (the bus gave up on it): the caller restarts it. */
  onFailure: (error: unknown) => void;
}

export interface BusConsumer {
  close(): Promise<void>;
}

export interface MessageBus {
  readonly topics: Topics;
  /** Resolves once a broker takes a connection; fails within a few seconds when none does. */
  reach(): Promise<void>;
  /** Creates the topics that are missing; several processes may race to it. */
  ensureTopics(): Promise<void>;
  producer(): Promise<BusProducer>;
  consume(options: ConsumeOptions): Promise<BusConsumer>;
  /** Per partition, the offset the next message will get. */
  endOffsets(topic: string): Promise<Map<number, bigint>>;
  /** Per partition, the next offset a group will read (partitions it never committed are absent). */
  committedOffsets(group: string, topic: string): Promise<Map<number, bigint>>;
}

/** SPEC 3.2's topics under a prefix. */
export function topicsOf(prefix: string): Topics {
  return { events: `${prefix}.events`, commands: `${prefix}.commands`, deadLetters: `${prefix}.dead-letters`, groupPrefix: prefix };
}
