import type { EventStore } from '../../infra/eventstore/port';
import type { Worker, WorkerStatus } from '../shared/supervisor';

/** A supervised worker as /health and /metrics show it: state, restarts, last error, and lag. */
export interface WorkerReport extends WorkerStatus {
  /** Events after its position it has not handled (up to 1000); absent when the log cannot be read. */
  lagEvents?: number;
  /** Since the oldest event it has not handled was recorded; grows while it is stopped. */
  lagSeconds: number;
  /** Running, and not behind by more than HEALTH_MAX_LAG_SECONDS; or standing by while another replica holds its lease. */
  ready: boolean;
}

const LAG_READ_TIMEOUT_MS = 2000;

/** Every worker this replica runs, with its lag measured now. */
export async function reportWorkers(workers: Worker[], store: EventStore, maxLagSeconds: number): Promise<WorkerReport[]> {
  return Promise.all(
    workers.map(async (worker) => {
      const lag = await worker.lag({ readAll: (from, options) => within(store.readAll(from, options), LAG_READ_TIMEOUT_MS) });
      const status = worker.status();
      return {
        ...status,
        ...(lag.events !== undefined ? { lagEvents: lag.events } : {}),
        lagSeconds: Math.round(lag.seconds * 1000) / 1000,
        ready: status.state === 'standby' || (status.state === 'running' && lag.seconds <= maxLagSeconds),
      };
    }),
  );
}

export function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
