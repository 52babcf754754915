import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../infra/eventstore/sqlite';
import type { EventStore, StoredEvent } from '../../infra/eventstore/port';
import { START } from '../../domain/shared/envelope';
import { eventRegistry } from '../../domain/events';
import { verifyFile, verifyStore } from '../../src/audit/verify';
import { newEvent } from '../support/events';
import canonicalize from 'canonicalize';
import { chainLine, hashOf, jcs, seal, storedData } from '../../infra/eventstore/hash-chain';

/**
 * What an auditor writes without Gatehouse: sorted keys and JSON's own escaping.
 * Enough for these events (integers, short decimals, strings); full RFC 8785 also
 * fixes how any double is written, which JSON.stringify already does in JavaScript.
 */
const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(',')}]`
    : value !== null && typeof value === 'object'
      ? `{${Object.keys(value)
          .sort()
          .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
          .join(',')}}`
      : JSON.stringify(value);

function recompute(line: Record<string, unknown>): string {
  const { hash: _hash, position: _position, personal: _personal, ...hashed } = line;
  return createHash('sha256').update(`${String(line.prevHash)}\n${canonical(hashed)}`, 'utf8').digest('hex');
}

const exportLine = (event: StoredEvent) => JSON.stringify({ ...event, position: event.position.toString() });

async function exportAll(store: EventStore): Promise<string[]> {
  const { events } = await store.readStored(START, { limit: 10_000 });
  return events.map(exportLine);
}

const progress = () => undefined;

describe('R-AUD-3 the hash chain, checked without Gatehouse', () => {
  let dir: string;
  let file: string;
  const open = () => new SqliteEventStore({ file, registry: eventRegistry(), synchronous: 'normal' });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-chain-'));
    file = join(dir, 'events.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function seed(store: EventStore): Promise<void> {
    const impersonated = newEvent('MemberProfileEdited', { memberId: 'u-2', notes: 'Zoë · “quotes” \\ back\nslash', tags: ['a', 'b'], count: 3, ratio: 0.25, on: true, none: null });
    impersonated.metadata = { actor: { kind: 'user', id: 'u-admin' }, realActor: { kind: 'user', id: 'u-support' }, orgId: 'org-1', correlationId: 'corr-1', causationId: 'cmd-1' };
    await store.append('user-u-1', [newEvent('UserRegistered', { userId: 'u-1', name: 'Ada Lovelace' })], 'no_stream');
    await store.append('member-org-1-u-2', [newEvent('MemberAdded', { userId: 'u-2', role: 'Member' }), impersonated], 'no_stream');
    await store.append('user-u-1', [newEvent('PasswordSet', { userId: 'u-1' }, { metadata: { actor: { kind: 'system', id: 'cli' }, correlationId: 'corr-2' } })], 0);
  }

  it('an independent few-line implementation recomputes every stored hash, and one changed byte in the SQLite file breaks exactly that event', async () => {
    const store = open();
    await seed(store);
    const lines = (await exportAll(store)).map((text) => JSON.parse(text) as Record<string, unknown>);
    await store.close();
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(recompute(line)).toBe(line.hash);
    // Each stream links to itself: the second event of user-u-1 carries the first's hash.
    expect(lines[3]).toMatchObject({ stream: 'user-u-1', streamVersion: 1, prevHash: lines[0].hash, realActor: null, orgId: null, causationId: null });

    // Edit the file itself, not through SQL: "Ada" becomes "Adb".
    const bytes = readFileSync(file);
    const at = bytes.indexOf('"name":"Ada Lovelace"');
    expect(at).toBeGreaterThan(0);
    expect(bytes.indexOf('"name":"Ada Lovelace"', at + 1)).toBe(-1);
    bytes[at + '"name":"Ad'.length] = 'b'.charCodeAt(0);
    writeFileSync(file, bytes);

    const reopened = open();
    try {
      const after = (await exportAll(reopened)).map((text) => JSON.parse(text) as Record<string, unknown>);
      expect(after[0].data).toEqual({ userId: 'u-1', name: 'Adb Lovelace' });
      expect(after.map((line) => recompute(line) === line.hash)).toEqual([false, true, true, true]);
      expect(await verifyStore(reopened, progress)).toMatchObject({
        ok: false,
        broken: { stream: 'user-u-1', streamVersion: 0, eventId: lines[0].eventId, field: 'hash', found: lines[0].hash, expected: recompute(after[0]) },
      });
    } finally {
      await reopened.close();
    }
  });

  it('verify passes on an intact store and an intact export, and names the first broken link of an edited export', async () => {
    const store = open();
    try {
      await seed(store);
      expect(await verifyStore(store, progress)).toEqual({ ok: true, counts: { events: 4, streams: 2, unchained: 0, gaps: 0, clearPersonal: 0 } });
      const lines = await exportAll(store);
      const path = join(dir, 'export.jsonl');
      writeFileSync(path, lines.join('\n') + '\n');
      expect(await verifyFile(path, progress)).toEqual({ ok: true, counts: { events: 4, streams: 2, unchained: 0, gaps: 0, clearPersonal: 0 } });

      // An export may leave events out: a stream's first line in the file, and the line after a gap, are taken as given.
      writeFileSync(path, [lines[1], lines[2], lines[3]].join('\n'));
      expect(await verifyFile(path, progress)).toEqual({ ok: true, counts: { events: 3, streams: 2, unchained: 0, gaps: 0, clearPersonal: 0 } });

      const edited = lines.map((line) => line.replace('"role":"Member"', '"role":"Owner"'));
      writeFileSync(path, edited.join('\n'));
      expect(await verifyFile(path, progress)).toMatchObject({ ok: false, broken: { line: 2, stream: 'member-org-1-u-2', streamVersion: 0, field: 'hash' } });

      // Recomputing the edited line's hash is not enough: the next line still links to the original.
      const resealed = JSON.parse(edited[1]);
      resealed.hash = recompute(resealed);
      writeFileSync(path, [edited[0], JSON.stringify(resealed), edited[2], edited[3]].join('\n'));
      expect(await verifyFile(path, progress)).toMatchObject({ ok: false, broken: { line: 3, streamVersion: 1, field: 'prevHash', expected: resealed.hash, found: JSON.parse(lines[1]).hash } });
    } finally {
      await store.close();
    }
  });

  it('events stored before the chain existed are chained once when the file is opened, and verify says when, and how many hold personal data in clear (R-ACC-3)', async () => {
    const legacy = new Database(file);
    legacy.exec(`CREATE TABLE events (
      position INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, stream_version INTEGER NOT NULL,
      type TEXT NOT NULL, schema_version INTEGER NOT NULL, recorded_at INTEGER NOT NULL, org_id TEXT, metadata TEXT NOT NULL, data TEXT NOT NULL,
      UNIQUE (stream, stream_version))`);
    const insert = legacy.prepare('INSERT INTO events (event_id, stream, stream_version, type, schema_version, recorded_at, org_id, metadata, data) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)');
    legacy.transaction(() => {
      for (let i = 0; i < 2500; i++) {
        // Every 500th: an account registered before personal data was encrypted, its email in clear.
        const [type, data] = i % 500 === 0 ? ['UserRegistered', { userId: `u-${i}`, email: `old-${i}@example.com`, firstName: 'Old' }] : ['Old', { i }];
        insert.run(`legacy-${i}`, `s-${i % 3}`, Math.floor(i / 3), type, Date.UTC(2024, 0, 1) + i, i % 2 ? 'org-1' : null, JSON.stringify({ actor: { kind: 'system', id: 't' }, correlationId: 'c' }), JSON.stringify(data));
      }
    })();
    legacy.close();

    const store = open();
    try {
      const origin = await store.chainOrigin();
      expect(origin).toMatchObject({ legacyEvents: 2500, legacyThrough: 2500n });
      expect(Date.parse(origin.chainedAt!)).toBeGreaterThan(Date.now() - 60_000);
      await store.append('s-1', [newEvent('New')], 'any');
      expect(await verifyStore(store, progress)).toEqual({ ok: true, counts: { events: 2501, streams: 3, unchained: 0, gaps: 0, clearPersonal: 5 } });
      for (const line of (await exportAll(store)).map((text) => JSON.parse(text))) expect(recompute(line)).toBe(line.hash);
    } finally {
      await store.close();
    }
    const again = open();
    try {
      expect((await again.chainOrigin()).legacyEvents).toBe(2500);
    } finally {
      await again.close();
    }
  });
});

describe('R-AUD-3 sealing writes the same line the chain is checked with', () => {
  const metadata = { actor: { kind: 'user' as const, id: 'u-admin' }, orgId: 'org-1', correlationId: 'corr-1' };
  // What a store gives back, hashed the general way (verify's), against seal's own text of the data as given.
  const general = (data: unknown, prevHash: string) =>
    hashOf(chainLine({ eventId: 'e-1', type: 'MemberProfileEdited', schemaVersion: 2, stream: 'member-org-1-u-2', streamVersion: 0, recordedAt: '2026-12-07T10:00:00.000Z', metadata, data: storedData(data).data, prevHash }));

  it.each([
    ['plain', { userId: 'u-2', role: 'Member', n: 3, ratio: 0.1 + 0.2, big: 1e21, tiny: 5e-7, neg: -0, on: false, none: null }],
    ['undefined, functions and holes as JSON leaves them', { a: undefined, f: () => 1, list: [1, undefined, , 3], nested: { z: 1, a: [{ y: undefined, b: 'x' }] } }],
    ['dates, NaN and Infinity as JSON writes them', { at: new Date('2026-12-07T10:00:00Z'), nan: Number.NaN, inf: Number.POSITIVE_INFINITY, withToJson: { toJSON: () => ({ b: 1, a: 2 }) } }],
    ['keys that sort by UTF-16 units', { 'é': 1, 'z': 2, 'A': 3, '\u{1F600}': 4, '\uFB33': 5, '10': 6, '9': 7, 'quote"d': "back\\slash\n“Zoë”" }],
    ['an array at the top', [1, 'two', { three: 3 }]],
  ])('%s', (_name, data) => {
    const prevHash = createHash('sha256').update('prev').digest('hex');
    const [sealed] = seal('member-org-1-u-2', { version: -1, hash: prevHash }, '2026-12-07T10:00:00.000Z', [{ eventId: 'e-1', type: 'MemberProfileEdited', schemaVersion: 2, metadata, data }]);
    expect(sealed).toEqual({ streamVersion: 0, prevHash, hash: general(data, prevHash) });
    expect(jcs(data)).toBe(canonicalize(JSON.parse(JSON.stringify(data))));
  });
});
