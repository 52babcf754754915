import './global-setup';

export default async function globalTeardown(): Promise<void> {
  const rig = globalThis.__gatehouseRig;
  // Nothing started here (every address came from outside): nothing to stop.
  if (!rig) return;
  globalThis.__gatehouseRig = undefined;
  rig.detach();
  await Promise.all([rig.postgres?.stop(), rig.ferretdb?.stop(), rig.kafka?.stop()]);
  // In watch mode setup runs again; a stale URL would make it skip starting a new server.
  // Only the URLs setup set itself: one that came from outside stays.
  if (rig.postgres) delete process.env.POSTGRES_URL;
  if (rig.ferretdb) delete process.env.MONGODB_URL;
  if (rig.kafka) delete process.env.KAFKA_BROKERS;
}
