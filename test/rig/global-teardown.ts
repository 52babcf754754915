import './global-setup';

export default async function globalTeardown(): Promise<void> {
  const rig = globalThis.__gatehouseRig;
  // Nothing started here (POSTGRES_URL came from outside): nothing to stop.
  if (!rig) return;
  globalThis.__gatehouseRig = undefined;
  rig.detach();
  await rig.postgres.stop();
  // In watch mode setup runs again; a stale URL would make it skip starting a new cluster.
  delete process.env.POSTGRES_URL;
}
