import { redactUrl, startPostgres, type RunningPostgres } from './postgres';

/** What global-setup started, for global-teardown (Jest shares only globalThis between them). */
export interface RigState {
  postgres: RunningPostgres;
  detach(): void;
}

declare global {
  // eslint-disable-next-line no-var
  var __gatehouseRig: RigState | undefined;
}

export default async function globalSetup(): Promise<void> {
  const external = process.env.POSTGRES_URL;
  if (external) {
    process.stderr.write(`\n[rig] PostgreSQL: ${redactUrl(external)} (from POSTGRES_URL)\n`);
    return;
  }

  const postgres = await startPostgres();
  // Workers are forked after global setup, so they inherit this.
  process.env.POSTGRES_URL = postgres.url;

  // A Ctrl-C or kill skips globalTeardown; stop the cluster anyway, then let the
  // signal do what it would have done.
  const onExit = () => postgres.stopSync();
  const onSignal = (signal: NodeJS.Signals) => {
    postgres.stopSync();
    process.kill(process.pid, signal);
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  globalThis.__gatehouseRig = {
    postgres,
    detach() {
      process.off('exit', onExit);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };

  process.stderr.write(`\n[rig] PostgreSQL: ${redactUrl(postgres.url)} (throwaway cluster, ${postgres.version})\n`);
}
