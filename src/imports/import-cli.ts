import type { INestApplicationContext } from '@nestjs/common';
import { createReadStream, existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { organization, orgStream } from '../../domain/organization/organization';
import { Streams } from '../shared/streams';
import { ImportJobs } from './import-jobs';
import { IMPORT_MODES, type ImportMode } from './import-store';
import { reportOf } from './imports.controller';
import { readRows, type ImportFormat } from './rows';

type Line = (fields: Record<string, unknown>) => void;

/**
 * SPEC 5.6: `cli import FILE --org ID [--mode setup-email|invite|silent] [--format csv|ndjson]` runs the
 * same job as POST /v1/orgs/{org}/imports, here, with a progress line on stderr each second. An operator
 * with the service's configuration acts for the org's Owner (the events name the Owner as actor and a
 * `cli-import-…` correlation id). Emails go out from the log, sent by the running service's consumers.
 */
export async function importMembers(openApp: () => Promise<INestApplicationContext>, args: string[], log: Line, progress: Line): Promise<number> {
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const file = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1].startsWith('--')));
  const orgId = flag('org');
  const mode = (flag('mode') ?? 'setup-email') as ImportMode;
  if (!file || !orgId) throw new Error('import needs FILE and --org ID');
  if (!IMPORT_MODES.includes(mode)) throw new Error(`--mode is one of ${IMPORT_MODES.join(', ')}`);
  if (!existsSync(file)) throw new Error(`no such file: ${file}`);
  const format = (flag('format') ?? (/\.(ndjson|jsonl)$/i.test(file) ? 'ndjson' : 'csv')) as ImportFormat;
  if (format !== 'csv' && format !== 'ndjson') throw new Error('--format is csv or ndjson');

  const app = await openApp();
  try {
    const { state: org } = await app.get(Streams).load(orgStream(orgId), organization);
    if (!org.exists) throw new Error(`no organization ${orgId}`);
    const jobs = app.get(ImportJobs);
    const meta = { actor: { kind: 'user' as const, id: org.ownerId }, orgId, correlationId: `cli-import-${randomUUID()}`, causationId: randomUUID() };
    const job = await jobs.accept(orgId, mode, readRows(createReadStream(file), format), meta);
    progress({ msg: 'import accepted', jobId: job.id, total: job.total, mode });
    const ticker = setInterval(() => {
      void jobs.job(job.id).then((j) => j && progress({ msg: 'import progress', ...reportOf(j) }));
    }, 1000);
    try {
      // Here (CONSUMERS=off, no supervisor) a run stopped by an error (a store that did not answer) is tried again from its checkpoint.
      for (;;) {
        await jobs.run(job.id);
        const current = await jobs.job(job.id);
        if (!current || current.status === 'done' || current.status === 'failed') break;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    } finally {
      clearInterval(ticker);
    }
    const done = await jobs.job(job.id);
    for (const error of await jobs.errors(job.id)) log({ msg: 'row refused', ...error });
    log({ msg: 'import finished', ...reportOf(done!) });
    return done?.status === 'done' ? 0 : 1;
  } finally {
    await app.close();
  }
}
