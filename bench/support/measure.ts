/** One timed run: how many operations (appends or INSERTs) and events completed, in how long. */
export interface Sample {
  ops: number;
  events: number;
  seconds: number;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** What one worker does once; resolves to the number of events it wrote. */
export type Operation = (worker: number) => Promise<number>;

/** Far above anything a store here reaches in a few seconds; only there so no loop is unbounded. */
const MAX_OPS_PER_WORKER = 5_000_000;

/**
 * Runs `workers` loops of `op` until `seconds` have passed. Operations in flight at
 * the deadline finish and count, and the elapsed time includes them, so the rate is exact.
 * A run that has not finished `graceSeconds` after its deadline fails instead of hanging.
 */
export async function timed(workers: number, seconds: number, op: Operation, graceSeconds = 30): Promise<Sample> {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let ops = 0;
  let events = 0;
  const loop = async (worker: number) => {
    for (let i = 0; i < MAX_OPS_PER_WORKER && performance.now() < deadline; i++) {
      // Not `events += await op()`: that reads `events` before the await and loses other workers' counts.
      const written = await op(worker);
      events += written;
      ops++;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`run did not finish within ${seconds + graceSeconds} s`)), (seconds + graceSeconds) * 1000);
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: workers }, (_, w) => loop(w))), overdue]);
  } finally {
    clearTimeout(timer);
  }
  return { ops, events, seconds: (performance.now() - start) / 1000 };
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}
