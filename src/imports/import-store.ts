import type { Actor } from '../../domain/shared/envelope';
import type { Doc, ReadStore } from '../../infra/readstore/port';
import type { SourceRow } from './rows';

export const IMPORT_MODES = ['setup-email', 'invite', 'silent'] as const;
export type ImportMode = (typeof IMPORT_MODES)[number];
export type ImportStatus = 'queued' | 'running' | 'done' | 'failed';

/** Rows are kept in chunks of this many: a batch never crosses a chunk. */
export const ROWS_PER_CHUNK = 1000;

export interface RowError {
  row: number;
  email?: string;
  code: string;
  message: string;
}

/** A job as it is kept where every replica sees it (the read store): its progress is its last checkpoint. */
export interface ImportJob extends Doc {
  rev: number;
  orgId: string;
  mode: ImportMode;
  actor: Actor;
  realActor?: Actor;
  correlationId: string;
  status: ImportStatus;
  total: number;
  /** Rows before this one are done and counted: the next batch starts here. */
  processed: number;
  created: number;
  addedExisting: number;
  failed: number;
  acceptedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** The runner that holds the job, and until when (ms since the epoch): another takes it over only after. */
  heldBy?: string;
  heldUntil?: number;
  problem?: string;
}

interface RowsChunk extends Doc {
  rev: number;
  jobId: string;
  rows: SourceRow[];
}

interface ErrorsOfBatch extends Doc {
  rev: number;
  jobId: string;
  errors: RowError[];
}

const JOBS = 'import_jobs';
const ROWS = 'import_rows';
const ERRORS = 'import_errors';
const pad = (n: number) => String(n).padStart(7, '0');

/** The durable side of import jobs: the job, its rows (saved when the job is accepted) and each batch's errors. */
export class ImportStore {
  constructor(private readonly store: ReadStore) {}

  async job(jobId: string): Promise<ImportJob | undefined> {
    return (await this.store.getMany<ImportJob>(JOBS, [jobId])).get(jobId);
  }

  /** Creates the job (rev 0) or moves it on from the rev it was read at; false when another writer came first. */
  save(job: ImportJob): Promise<boolean> {
    const { rev, ...doc } = job;
    return this.store.swap<ImportJob>(JOBS, doc, rev);
  }

  /** Jobs that are not finished: a runner resumes those whose holder let go or went away. */
  unfinished(): Promise<ImportJob[]> {
    return this.store.find<ImportJob>({ collection: JOBS, where: { status: { in: ['queued', 'running'] } }, orderBy: [['id', 'asc']], limit: 100 });
  }

  async saveChunk(jobId: string, chunk: number, rows: SourceRow[]): Promise<void> {
    await this.store.swap<RowsChunk>(ROWS, { id: `${jobId}:${pad(chunk)}`, jobId, rows }, 0);
  }

  async chunk(jobId: string, chunk: number): Promise<SourceRow[]> {
    const id = `${jobId}:${pad(chunk)}`;
    const found = (await this.store.getMany<RowsChunk>(ROWS, [id])).get(id);
    if (!found) throw new MissingRows(`rows ${chunk * ROWS_PER_CHUNK}… of import ${jobId} are missing`);
    return found.rows;
  }

  /** A batch's errors, by its first row: a batch run again (after a restart) replaces them. */
  async saveErrors(jobId: string, from: number, errors: RowError[]): Promise<void> {
    const id = `${jobId}:${pad(from)}`;
    const before = (await this.store.getMany<ErrorsOfBatch>(ERRORS, [id])).get(id);
    if (!before && errors.length === 0) return;
    await this.store.swap<ErrorsOfBatch>(ERRORS, { id, jobId, errors }, before?.rev ?? 0);
  }

  async errors(jobId: string): Promise<RowError[]> {
    const all: RowError[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.store.find<ErrorsOfBatch>({ collection: ERRORS, where: { jobId }, orderBy: [['id', 'asc']], limit: 100, ...(after ? { after: [after] } : {}) });
      for (const batch of page) all.push(...batch.errors);
      if (page.length < 100) return all;
      after = page[page.length - 1].id;
    }
  }

  /** Rows saved for a body that was then refused (too many rows, unreadable), or of a job that has finished. */
  async forgetRows(jobId: string): Promise<void> {
    await this.store.deleteWhere(ROWS, { jobId });
  }

  /** Finished jobs (done or failed) that finished before `before` (ISO time), a page at a time. */
  finishedBefore(before: string): Promise<ImportJob[]> {
    return this.store.find<ImportJob>({ collection: JOBS, where: { status: { in: ['done', 'failed'] }, finishedAt: { lt: before } }, orderBy: [['id', 'asc']], limit: 100 });
  }

  /** A job and all it left: its per-row report, any rows still kept, then the job itself (last, so a cut-off removal is found again). */
  async remove(jobId: string): Promise<void> {
    await this.store.deleteWhere(ERRORS, { jobId });
    await this.store.deleteWhere(ROWS, { jobId });
    await this.store.deleteWhere(JOBS, { id: jobId });
  }
}

/** A job whose saved rows are gone: it cannot go on, however often it is tried. */
export class MissingRows extends Error {
  override name = 'MissingRows';
}
