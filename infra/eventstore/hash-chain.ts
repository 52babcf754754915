/**
 * The tamper-evident hash chain of SPEC 5.1 (R-AUD-3), in one place: every adapter
 * seals with it, `verify` and the history export check with it.
 *
 *   hash = hex(SHA-256(utf8(prevHash + "\n" + JCS(line))))
 *
 * `line` is the export line without `hash`, `position` and `personal`. Gatehouse's
 * lines always hold all thirteen keys: an absent `realActor`, `orgId` or
 * `causationId` is `null`, never a missing key. `schemaVersion` and `data` are the
 * stored ones, before any upcast; `recordedAt` is an ISO time with milliseconds.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Actor, EventMetadata, Position } from '../../domain/shared/envelope';

/** The `prevHash` of a stream's first event (version 0). */
export const GENESIS = '0'.repeat(64);

/** What the hash covers: the stored event and the link to its predecessor. */
export interface ChainLine {
  eventId: string;
  type: string;
  schemaVersion: number;
  stream: string;
  streamVersion: number;
  recordedAt: string;
  actor: Actor;
  realActor: Actor | null;
  orgId: string | null;
  correlationId: string;
  causationId: string | null;
  data: unknown;
  prevHash: string;
}

/**
 * An event exactly as stored (no upcast), with its place in the log and its hash:
 * one line of the history export, `personal` aside. `prevHash` and `hash` are null
 * only for an EventStoreDB event stored before the chain existed (it cannot be amended).
 */
export interface StoredEvent extends Omit<ChainLine, 'prevHash'> {
  position: Position;
  prevHash: string | null;
  hash: string | null;
}

/** The fields of an export line that are not hashed. */
const UNHASHED = new Set(['hash', 'position', 'personal']);

/** The hash of a line (any object shaped like an export line: `hash`, `position` and `personal` are left out). */
export function hashOf<Line extends { prevHash: string }>(line: Line): string {
  const hashed = Object.fromEntries(Object.entries(line).filter(([key]) => !UNHASHED.has(key)));
  return createHash('sha256').update(`${line.prevHash}\n${canonicalize(hashed)}`, 'utf8').digest('hex');
}

/** The absent-is-null rule for the envelope's optional fields. */
export function chainLine(event: {
  eventId: string;
  type: string;
  schemaVersion: number;
  stream: string;
  streamVersion: number;
  recordedAt: string;
  metadata: EventMetadata;
  data: unknown;
  prevHash: string;
}): ChainLine {
  const { actor, realActor, orgId, correlationId, causationId } = event.metadata;
  return {
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    stream: event.stream,
    streamVersion: event.streamVersion,
    recordedAt: event.recordedAt,
    actor,
    realActor: realActor ?? null,
    orgId: orgId ?? null,
    correlationId,
    causationId: causationId ?? null,
    data: event.data,
    prevHash: event.prevHash,
  };
}

/** The last event of a stream as far as the chain is concerned; a missing stream is `{ version: -1, hash: GENESIS }`. */
export interface ChainHead {
  version: number;
  hash: string;
}

export const EMPTY_STREAM: ChainHead = { version: -1, hash: GENESIS };

export interface EventToSeal {
  eventId: string;
  type: string;
  schemaVersion: number;
  metadata: EventMetadata;
  /** The data: as it will be read back (see `storedData`), or as given, which `seal` reads as JSON would give it back. */
  data: unknown;
}

export interface Seal {
  streamVersion: number;
  prevHash: string;
  hash: string;
}

/**
 * Chains a batch onto a stream's head: versions head+1…, each prevHash the hash before it. The same hash as
 * `hashOf(chainLine(…))`, with the line's JCS text written in its fixed key order rather than sorted each time,
 * and `data` read as JSON would give it back (so it may be the data before `storedData`'s round trip).
 */
export function seal(stream: string, head: ChainHead, recordedAt: string, events: EventToSeal[]): Seal[] {
  let prevHash = head.hash;
  const streamJson = JSON.stringify(stream);
  const recordedAtJson = JSON.stringify(recordedAt);
  return events.map((event, i) => {
    const streamVersion = head.version + 1 + i;
    const { actor, realActor, orgId, correlationId, causationId } = event.metadata;
    // JCS: the keys in UTF-16 order; an absent envelope field is null (chainLine); an undefined value left out, as canonicalize does.
    const line =
      `{${member('actor', actor)}"causationId":${jcs(causationId ?? null)},${member('correlationId', correlationId)}` +
      `${member('data', event.data)}${member('eventId', event.eventId)}"orgId":${jcs(orgId ?? null)},"prevHash":${jcs(prevHash)},` +
      `"realActor":${jcs(realActor ?? null)},"recordedAt":${recordedAtJson},${member('schemaVersion', event.schemaVersion)}` +
      `"stream":${streamJson},"streamVersion":${streamVersion}${event.type === undefined ? '' : `,"type":${jcs(event.type)}`}}`;
    const hash = createHash('sha256').update(`${prevHash}\n${line}`, 'utf8').digest('hex');
    const sealed = { streamVersion, prevHash, hash };
    prevHash = hash;
    return sealed;
  });
}

/** `"name":value,` of a line's member, or nothing for an undefined value. */
const member = (name: string, value: unknown) => (value === undefined ? '' : `"${name}":${jcs(value)},`);

/**
 * RFC 8785 (JCS) text of a value as JSON gives it back: `canonicalize(JSON.parse(JSON.stringify(value)))` in one
 * walk (toJSON called; undefined, functions and symbols left out of objects and null in arrays; NaN and ±Infinity null).
 */
export function jcs(value: unknown, key = ''): string {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') value = (value as { toJSON: (key: string) => unknown }).toJSON(key);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let text = '[';
        for (let i = 0; i < value.length; i++) {
          const item = value[i];
          text += `${i === 0 ? '' : ','}${item === undefined || typeof item === 'function' || typeof item === 'symbol' ? 'null' : jcs(item, String(i))}`;
        }
        return `${text}]`;
      }
      const object = value as Record<string, unknown>;
      let text = '{';
      for (const name of Object.keys(object).sort()) {
        const item = object[name];
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
        text += `${text.length === 1 ? '' : ','}${JSON.stringify(name)}:${jcs(item, name)}`;
      }
      return `${text}}`;
    }
    default:
      // undefined, a function or a symbol where a value must be: JSON has no text for it.
      throw new TypeError(`no JSON text for a ${typeof value}`);
  }
}

/**
 * Data exactly as every store gives it back (JSON: no undefined, no Date, no -0),
 * with the text to store: the hash is computed over what a reader will see.
 */
export function storedData(data: unknown): { json: string; data: unknown } {
  const json = JSON.stringify(data);
  if (json === undefined) throw new Error('event data must be JSON');
  return { json, data: JSON.parse(json) };
}

/** A recorded time as it is hashed and exported: ISO 8601, UTC, with milliseconds. */
export function isoTime(at: Date | number): string {
  return new Date(at).toISOString();
}
