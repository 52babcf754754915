import { parentPort, workerData } from 'node:worker_threads';
import { SqliteEventStore } from '../../infra/eventstore/sqlite';
import { eventRegistry } from '../../domain/events';
import { addMembers, seedOrg } from './dataset';

/**
 * Appends orgs of members to an event store on a thread of its own, so that the
 * projection runner on the main thread can follow the log while it is written (the
 * two use the two cores). Posts { org, members, seconds } per org and { done, events, seconds } at the end.
 */
export interface GenerateJob {
  eventsFile: string;
  /** Members per org; the last org gets what is left of `members`. */
  perOrg: number;
  members: number;
  tag: string;
  events: 'command' | 'projected';
}

async function run(job: GenerateJob): Promise<void> {
  const store = new SqliteEventStore({ file: job.eventsFile, registry: eventRegistry() });
  const start = performance.now();
  const orgCount = Math.ceil(job.members / job.perOrg);
  let events = 0;
  try {
    for (let o = 0; o < orgCount; o++) {
      const count = Math.min(job.perOrg, job.members - o * job.perOrg);
      const org = await seedOrg(store, `Other Org ${o + 1}`, o + 1, job.tag);
      events += 5 + (await addMembers(store, org, { first: (o + 1) * 10_000_000, count, tag: job.tag, events: job.events }));
      parentPort!.postMessage({ org: o + 1, orgs: orgCount, members: count, seconds: (performance.now() - start) / 1000 });
    }
  } finally {
    await store.close();
  }
  parentPort!.postMessage({ done: true, events, seconds: (performance.now() - start) / 1000 });
}

run(workerData as GenerateJob).catch((error) => {
  parentPort!.postMessage({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
});
