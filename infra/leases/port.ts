/**
 * Leases: work that must have one runner at a time (each projection, the
 * publisher, grant expiry, each consumer that follows the log) runs only in the
 * replica holding its lease. Every adapter passes test/contract/leases.contract.ts.
 *
 * A lease is taken or renewed for `ttlMs` on the store's clock; another holder
 * gets it only once that time has passed or the holder released it, and then
 * with the next `token` (a fencing number: one per holder in turn). Every
 * holder in turn is also kept in the lease's history with the last time it was
 * renewed to, so anyone can check that no two holders' terms ever overlapped.
 */
export interface LeaseGrant {
  name: string;
  holder: string;
  /** 1 for the first holder, one more for each holder after it. */
  token: number;
  /** Since when this holder has held it, on the store's clock. */
  acquiredAt: Date;
  /** Until when it is held unless renewed, on the store's clock. */
  until: Date;
}

export interface Leases {
  /** Takes the lease for `holder`, or renews it; undefined while another holder's term runs. */
  acquire(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | undefined>;
  /** Ends the holder's term now (another may take it at once); nothing when it does not hold it. */
  release(name: string, holder: string): Promise<void>;
  /** Each holder's term in turn (oldest first), for operators and the replica tests. */
  history(name: string): Promise<LeaseGrant[]>;
  close(): Promise<void>;
}

/** Terms that overlap: a later holder's term began before an earlier one's had ended. Empty when exclusive. */
export function overlaps(history: LeaseGrant[]): Array<[LeaseGrant, LeaseGrant]> {
  const sorted = [...history].sort((a, b) => a.token - b.token);
  return sorted.slice(1).flatMap((term, i) => (term.acquiredAt < sorted[i].until ? [[sorted[i], term] as [LeaseGrant, LeaseGrant]] : []));
}
