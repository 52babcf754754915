import type { Doc, ReadStore } from '../readstore/port';
import type { LeaseGrant, Leases } from './port';

interface LeaseDoc extends Doc {
  rev: number;
  holder: string;
  token: number;
  acquiredAt: number;
  until: number;
}

const LEASES = 'leases';
const TERMS = 'lease_terms';

const grant = (name: string, doc: Omit<LeaseDoc, 'rev' | 'id'>): LeaseGrant => ({ name, holder: doc.holder, token: doc.token, acquiredAt: new Date(doc.acquiredAt), until: new Date(doc.until) });

/**
 * Leases in the read store (MongoDB), for event stores without a table of their
 * own (EventStoreDB): a compare-and-swap on the lease's document, on the
 * replicas' clocks (keep them in sync; the margin a holder keeps covers small
 * skew). Exclusive on MongoDB and SQLite; FerretDB v1 does not make a
 * conditional update atomic (infra/readstore/mongo.ts), so it is not for the rig's FerretDB.
 */
export class ReadStoreLeases implements Leases {
  constructor(
    private readonly store: ReadStore,
    private readonly now: () => number = Date.now,
  ) {}

  async acquire(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const at = this.now();
      const held = (await this.store.getMany<LeaseDoc>(LEASES, [name])).get(name);
      if (held && held.holder !== holder && held.until > at) return undefined;
      const same = held?.holder === holder;
      const next = { id: name, holder, token: same ? held.token : (held?.token ?? 0) + 1, acquiredAt: same ? held.acquiredAt : at, until: at + ttlMs };
      if (!(await this.store.swap<LeaseDoc>(LEASES, next, held?.rev ?? 0))) continue;
      await this.recordTerm(name, next);
      return grant(name, next);
    }
    return undefined;
  }

  async release(name: string, holder: string): Promise<void> {
    const at = this.now();
    const held = (await this.store.getMany<LeaseDoc>(LEASES, [name])).get(name);
    if (!held || held.holder !== holder || held.until <= at) return;
    const { rev, ...rest } = held;
    if (await this.store.swap<LeaseDoc>(LEASES, { ...rest, until: at }, rev)) await this.recordTerm(name, { ...rest, until: at });
  }

  async history(name: string): Promise<LeaseGrant[]> {
    const terms = await this.store.find<LeaseDoc & { name: string }>({ collection: TERMS, where: { name }, orderBy: [['token', 'asc'], ['id', 'asc']], limit: 100_000 });
    return terms.map((t) => grant(name, t));
  }

  async close(): Promise<void> {}

  /** The holder's term, with how far it was last renewed (only the holder writes it). */
  private async recordTerm(name: string, lease: Omit<LeaseDoc, 'rev'>): Promise<void> {
    const id = `${name}#${lease.token}`;
    for (;;) {
      const stored = (await this.store.getMany<LeaseDoc>(TERMS, [id])).get(id);
      if (await this.store.swap<LeaseDoc & { name: string }>(TERMS, { ...lease, id, name }, stored?.rev ?? 0)) return;
    }
  }
}
