import './global-setup';

export default async function globalTeardown(): Promise<void> {
  const rig = globalThis.__gatehouseRig;
  if (rig) {
    globalThis.__gatehouseRig = undefined;
    rig.detach();
    await Promise.all([rig.postgres?.stop(), rig.ferretdb?.stop(), rig.kafka?.stop()]);
    // In watch mode setup runs again; a stale URL would make it skip starting a new server.
    // Only the URLs setup set itself: one that came from outside stays.
    if (rig.postgres) delete process.env.POSTGRES_URL;
    if (rig.ferretdb) delete process.env.MONGODB_URL;
    if (rig.kafka) delete process.env.KAFKA_BROKERS;
  }
  await reportLeftOpen();
}

/**
 * Jest exits by force (jest.config.js: a handle a suite forgot must not hold CI until its
 * time limit), so a leak would go unseen: name what is still open once the run is over. With
 * --runInBand every suite ran in this process, so its resources are theirs.
 */
async function reportLeftOpen(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  for (const kind of globalThis.__gatehouseOpenAtStart ?? []) counts.set(kind, (counts.get(kind) ?? 0) - 1);
  const list = [...counts].filter(([, n]) => n > 0).map(([kind, n]) => `${kind}×${n}`).join(', ');
  if (!list) return;
  process.stderr.write(`[rig] still open after the last suite (a suite did not close it): ${list}\n`);
}
