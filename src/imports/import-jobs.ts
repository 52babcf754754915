import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { membershipStream } from '../../domain/membership/membership';
import type { OrgContext } from '../../domain/organization/organization';
import { normalizeEmail } from '../../domain/shared/email';
import { DomainError } from '../../domain/shared/errors';
import { emailReservation, emailStream } from '../../domain/user/user';
import { newId } from '../../infra/crypto/secrets';
import { IdempotencyMismatch, WrongExpectedVersion } from '../../infra/eventstore/port';
import type { ReadStore } from '../../infra/readstore/port';
import { OrgAccess } from '../access/org-access.service';
import { Links } from '../auth/links.service';
import { Settings } from '../config/config';
import { InviteUser } from '../invitations/invitation.handlers';
import { Joining } from '../membership/joining';
import { Streams, type Change, type CommandMeta } from '../shared/streams';
import { Supervisor, type Worker } from '../shared/supervisor';
import { START } from '../../domain/shared/envelope';
import { CLOCK, READ_STORE, type Clock } from '../shared/tokens';
import { ImportStore, MissingRows, ROWS_PER_CHUNK, type ImportJob, type ImportMode, type RowError } from './import-store';
import { checkRow, MAX_ROWS, type SourceRow, type ValidRow } from './rows';

/** A runner holds a job this long past its last checkpoint; one that went away without letting go is taken over after. */
const LEASE_MS = 60_000;
const SWEEP_MS = 10_000;
/** Finished jobs are looked for this often to be removed once past IMPORT_RETENTION_DAYS. */
const CLEANUP_MS = 3_600_000;
/** Its supervised worker, as /health and /metrics name it. */
export const IMPORTS_WORKER = 'imports';

type Outcome = 'created' | 'addedExisting' | RowError;

/**
 * R-CRT-5: bulk import as a tracked job. The rows are saved when the job is accepted; a runner
 * takes them batch by batch, each row decided exactly as a single create (the same DTO checks,
 * the same Joining decisions and codes), the batch's changes appended in one commit, then the
 * progress checkpointed. A batch is told apart by its causation id (job and first row): after a
 * restart between a commit and its checkpoint, the rows that batch already added are recognised
 * and counted once, not refused as already members.
 */
@Injectable()
export class ImportJobs implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('imports');
  private readonly store: ImportStore;
  private readonly runnerId = randomUUID();
  private readonly running = new Map<string, Promise<void>>();
  private stopping = false;
  private readonly supervisor: Supervisor;
  /** Ends the supervised worker's current run with an error: the supervisor starts it again after a backoff. */
  private fail?: (error: unknown) => void;
  private lastCleanup = 0;

  constructor(
    @Inject(READ_STORE) readStore: ReadStore,
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
    private readonly joining: Joining,
    private readonly links: Links,
    private readonly commands: CommandBus,
    private readonly settings: Settings,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.store = new ImportStore(readStore);
    this.supervisor = new Supervisor(this.logger, clock);
  }

  /** The supervised worker that runs the jobs (none where CONSUMERS=off). */
  workers(): Worker[] {
    return this.supervisor.all();
  }

  /**
   * Where consumers run, the job runner is a supervised worker (as every follower of the log is): it
   * picks up unfinished jobs at start and whenever their runner has gone away, removes finished ones
   * past their retention, and after an error (a store that does not answer) is started again with
   * backoff and resumes each job from its last checkpoint. /health shows it as `imports`.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.settings.CONSUMERS !== 'on') return;
    await this.supervisor.supervise(
      {
        name: IMPORTS_WORKER,
        start: async (fail) => {
          this.fail = fail;
          const timer = setInterval(() => void this.sweep().catch(fail), SWEEP_MS);
          timer.unref();
          const caughtUp = this.sweep();
          caughtUp.catch(fail);
          return {
            caughtUp,
            stop: async () => {
              clearInterval(timer);
              if (this.fail === fail) this.fail = undefined;
            },
          };
        },
        // Jobs are not events: its lag is the jobs nobody runs, since the oldest of them was accepted.
        position: () => START,
        backlog: async () => {
          const waiting = await this.waiting();
          return { events: waiting.length, ...(waiting.length > 0 ? { behindSince: new Date(waiting.map((j) => j.acceptedAt).sort()[0]) } : {}) };
        },
      },
      { background: true },
    );
  }

  /** A stop lets each running job finish its batch, checkpoint and let go, for the next start to go on from there. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await this.supervisor.stop();
    await Promise.all(this.running.values());
  }

  /** What the runner does every SWEEP_MS: resume the jobs nobody runs, and now and then remove old finished ones. */
  async sweep(): Promise<void> {
    await this.resumeUnfinished();
    if (this.clock().getTime() - this.lastCleanup >= CLEANUP_MS) await this.removeExpired();
  }

  /** Finished jobs (done or failed) past IMPORT_RETENTION_DAYS go, with their per-row reports; answers how many. */
  async removeExpired(): Promise<number> {
    const now = this.clock().getTime();
    this.lastCleanup = now;
    const before = new Date(now - this.settings.IMPORT_RETENTION_DAYS * 86_400_000).toISOString();
    let removed = 0;
    for (;;) {
      const expired = await this.store.finishedBefore(before);
      for (const job of expired) await this.store.remove(job.id);
      removed += expired.length;
      if (expired.length === 0) return removed;
    }
  }

  job(jobId: string): Promise<ImportJob | undefined> {
    return this.store.job(jobId);
  }

  errors(jobId: string): Promise<RowError[]> {
    return this.store.errors(jobId);
  }

  /** Saves the rows as they stream in (never the body whole), then the job: only a job whose rows are all saved exists. */
  async accept(orgId: string, mode: ImportMode, rows: AsyncIterable<SourceRow>, meta: CommandMeta): Promise<ImportJob> {
    const jobId = newId();
    let chunk: SourceRow[] = [];
    let saved = 0;
    let total = 0;
    try {
      for await (const row of rows) {
        if (++total > MAX_ROWS) throw new DomainError('body_too_large', `an import holds at most ${MAX_ROWS} rows`, { maxRows: MAX_ROWS });
        chunk.push(row);
        if (chunk.length === ROWS_PER_CHUNK) {
          await this.store.saveChunk(jobId, saved++, chunk);
          chunk = [];
        }
      }
      if (chunk.length > 0) await this.store.saveChunk(jobId, saved++, chunk);
    } catch (error) {
      await this.store.forgetRows(jobId).catch(() => undefined);
      throw error;
    }
    const job: ImportJob = {
      id: jobId,
      rev: 0,
      orgId,
      mode,
      actor: meta.actor,
      ...(meta.realActor ? { realActor: meta.realActor } : {}),
      correlationId: meta.correlationId,
      status: total === 0 ? 'done' : 'queued',
      total,
      processed: 0,
      created: 0,
      addedExisting: 0,
      failed: 0,
      acceptedAt: this.clock().toISOString(),
      // Held by whoever accepted it from the start: another replica's sweep (or the service, for a CLI import) does not race it.
      heldBy: this.runnerId,
      heldUntil: total === 0 ? 0 : this.clock().getTime() + LEASE_MS,
      ...(total === 0 ? { startedAt: this.clock().toISOString(), finishedAt: this.clock().toISOString() } : {}),
    };
    if (!(await this.store.save(job))) throw new Error(`import ${jobId} exists already`);
    return { ...job, rev: 1 };
  }

  /**
   * Runs the job here unless someone else holds it; resolves when it is done, failed, or let go (on a
   * stop, or after an error: the job is then resumed from its checkpoint when the supervisor restarts the runner).
   */
  run(jobId: string): Promise<void> {
    const current = this.running.get(jobId);
    if (current) return current;
    const run = this.runJob(jobId)
      .catch((error) => {
        this.logger.error({ msg: 'import stopped by an error; it resumes from its checkpoint', jobId, error: (error as Error).name });
        this.fail?.(error);
      })
      .finally(() => this.running.delete(jobId));
    this.running.set(jobId, run);
    return run;
  }

  /** Unfinished jobs that nobody runs: their holder let go, went away, or is this runner before a restart. */
  private async waiting(): Promise<ImportJob[]> {
    const now = this.clock().getTime();
    return (await this.store.unfinished()).filter((job) => !this.running.has(job.id) && (job.heldBy === this.runnerId || (job.heldUntil ?? 0) <= now));
  }

  private async resumeUnfinished(): Promise<void> {
    if (this.stopping) return;
    for (const job of await this.waiting()) void this.run(job.id);
  }

  private async runJob(jobId: string): Promise<void> {
    let job = await this.store.job(jobId);
    if (!job || job.status === 'done' || job.status === 'failed' || this.stopping) return;
    if (job.heldBy !== this.runnerId && (job.heldUntil ?? 0) > this.clock().getTime()) return; // someone else runs it
    job = await this.checkpoint(job, { status: 'running', startedAt: job.startedAt ?? this.clock().toISOString() });
    if (!job) return;
    // The first batch of a run may have been appended by a run that stopped before its checkpoint.
    let inDoubt = true;
    let rows: SourceRow[] = [];
    let loadedChunk = -1;
    try {
      while (job.processed < job.total && !this.stopping) {
        const chunk = Math.floor(job.processed / ROWS_PER_CHUNK);
        if (chunk !== loadedChunk) {
          rows = await this.store.chunk(jobId, chunk);
          loadedChunk = chunk;
        }
        const batch = batchFrom(rows, job.processed - chunk * ROWS_PER_CHUNK);
        const outcomes = await this.runBatch(job, batch, inDoubt);
        inDoubt = false;
        const errors = outcomes.filter((o): o is RowError => typeof o === 'object');
        await this.store.saveErrors(jobId, job.processed, errors);
        job = await this.checkpoint(job, {
          processed: job.processed + batch.length,
          created: job.created + outcomes.filter((o) => o === 'created').length,
          addedExisting: job.addedExisting + outcomes.filter((o) => o === 'addedExisting').length,
          failed: job.failed + errors.length,
        });
        if (!job) return; // taken over: the other runner goes on from our last checkpoint
      }
      if (job.processed >= job.total) await this.checkpoint(job, { status: 'done', finishedAt: this.clock().toISOString(), heldUntil: 0 });
      else await this.checkpoint(job, { heldUntil: 0 });
    } catch (error) {
      // A store that does not answer: the job stays unfinished, let go, for the restarted runner to resume it from its
      // checkpoint. A job that can never go on (its rows lost, its org gone or its actor refused) fails instead.
      const giveUp = error instanceof MissingRows || error instanceof DomainError;
      const latest = await this.store.job(jobId).catch(() => undefined);
      if (latest && latest.heldBy === this.runnerId) {
        const letGo: Partial<ImportJob> = giveUp ? { status: 'failed', finishedAt: this.clock().toISOString(), problem: (error as Error).message, heldUntil: 0 } : { heldUntil: 0 };
        await this.checkpoint(latest, letGo).catch(() => undefined);
      }
      if (!giveUp) throw error;
      this.logger.error({ msg: 'import failed', jobId, error: (error as Error).message });
    }
  }

  /** Moves the job on from the rev it was read at, renewing this runner's hold; undefined when another writer came first. */
  private async checkpoint(job: ImportJob, changes: Partial<ImportJob>): Promise<ImportJob | undefined> {
    const next: ImportJob = { ...job, heldBy: this.runnerId, heldUntil: this.clock().getTime() + LEASE_MS, ...changes };
    if (!(await this.store.save(next))) return undefined;
    return { ...next, rev: job.rev + 1 };
  }

  private metaOf(job: ImportJob, cause: string): CommandMeta {
    return { actor: job.actor, ...(job.realActor ? { realActor: job.realActor } : {}), orgId: job.orgId, correlationId: job.correlationId, causationId: cause };
  }

  /** One outcome per row, in order. A bad row is an error in the report; the good ones go on. */
  private async runBatch(job: ImportJob, rows: SourceRow[], inDoubt: boolean): Promise<Outcome[]> {
    const cause = `import:${job.id}:${rows[0].row}`;
    const meta = this.metaOf(job, cause);
    const checked = rows.map(checkedRow);
    if (job.mode === 'invite') return this.inviteEach(job, checked, meta);
    const { context } = await this.orgAccess.context(job.orgId, job.actor, job.realActor);
    const outcomes: Outcome[] = [];
    const planned: Array<{ index: number; row: ValidRow; changes: Change[] }> = [];
    for (const [index, item] of checked.entries()) {
      if ('code' in item) {
        outcomes.push(item);
        continue;
      }
      try {
        const plan = await this.plan(job, item.valid, context, cause, inDoubt);
        outcomes.push(plan.outcome);
        if (plan.changes.length > 0) planned.push({ index, row: item.valid, changes: plan.changes });
      } catch (error) {
        outcomes.push(rowError(item.row, item.valid.email, error));
      }
    }
    if (planned.length === 0) return outcomes;
    try {
      await this.streams.commit(planned.flatMap((p) => p.changes), meta, { cache: false });
    } catch (error) {
      if (!(error instanceof WrongExpectedVersion || error instanceof IdempotencyMismatch)) throw error;
      // Someone else wrote to a stream this batch read (or two rows drew one door code): row by row, each retried as a single create is.
      for (const { index, row } of planned) {
        const rowNumber = (checked[index] as { row: number }).row;
        try {
          outcomes[index] = await this.streams.retrying(async () => {
            const fresh = await this.orgAccess.context(job.orgId, job.actor, job.realActor);
            const plan = await this.plan(job, row, fresh.context, cause, true);
            await this.streams.commit(plan.changes, meta);
            return plan.outcome;
          });
        } catch (rowFailure) {
          outcomes[index] = rowError(rowNumber, row.email, rowFailure);
        }
      }
    }
    return outcomes;
  }

  /**
   * The changes of CreateMember (src/membership/create-member.handler.ts) for one row, with the
   * job's mode: an account when the email has none (R-CRT-1), else the existing user (R-CRT-2),
   * the org's default role unless one is given (R-CRT-3), and in setup-email mode its setup link.
   */
  private async plan(job: ImportJob, input: ValidRow, context: OrgContext, cause: string, inDoubt: boolean): Promise<{ changes: Change[]; outcome: 'created' | 'addedExisting' }> {
    const email = normalizeEmail(input.email);
    const reservation = await this.streams.load(emailStream(this.joining.names.email(email)), emailReservation);
    const existing = reservation.state.userId;
    if (existing && inDoubt) {
      const earlier = await this.doneByThisBatch(job.orgId, existing, reservation.stream, cause);
      if (earlier) return { changes: [], outcome: earlier };
    }
    const userId = existing ?? newId();
    // A new person's streams are not read (nothing can be in them), nor the reservation twice.
    const known = existing ? {} : { reservation, newUserId: true };
    const changes = await this.joining.addMember(userId, { roleId: input.role, locations: input.locations ?? null, via: existing ? 'existing' : 'created' }, context, known);
    if (!existing) {
      const profile = { firstName: input.firstName, lastName: input.lastName ?? '', ...(input.phone ? { phone: input.phone } : {}), ...(input.username ? { username: input.username } : {}) };
      changes.unshift(...(await this.joining.newAccount({ userId, email, profile, managedBy: { orgId: job.orgId } }, context, known)));
      if (job.mode === 'setup-email') {
        changes.push((await this.links.issue({ purpose: 'setup', userId, orgId: job.orgId, asInvitation: context.org.policy, email: { to: email, variant: 'new-account' } }, context)).change);
      }
    }
    return { changes, outcome: existing ? 'addedExisting' : 'created' };
  }

  /** Whether this batch's earlier run added the member (and made the account): its events carry the batch's causation id. */
  private async doneByThisBatch(orgId: string, userId: string, reservationStream: string, cause: string): Promise<'created' | 'addedExisting' | undefined> {
    const events = await this.streams.store.readStream(membershipStream(orgId, userId));
    const added = [...events].reverse().find((e) => e.type === 'MemberAdded');
    if (!added || added.causationId !== cause) return undefined;
    const [reserved] = await this.streams.store.readStream(reservationStream);
    return reserved?.causationId === cause ? 'created' : 'addedExisting';
  }

  /** Invite mode: each row is POST …/invitations (R-INV-1, R-INV-3); a pending invitation is resent, not doubled. */
  private async inviteEach(job: ImportJob, checked: CheckedRow[], meta: CommandMeta): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const item of checked) {
      if ('code' in item) {
        outcomes.push(item);
        continue;
      }
      const { email, role, firstName, lastName } = item.valid;
      try {
        await this.commands.execute(new InviteUser(job.orgId, { email, ...(role ? { role } : {}), firstName, ...(lastName ? { lastName } : {}) }, meta));
        outcomes.push('created');
      } catch (error) {
        outcomes.push(rowError(item.row, email, error));
      }
    }
    return outcomes;
  }
}

type CheckedRow = { row: number; valid: ValidRow } | RowError;

function checkedRow({ row, fields, unreadable }: SourceRow): CheckedRow {
  const email = typeof fields?.email === 'string' ? fields.email : undefined;
  if (unreadable || !fields) return { row, ...(email ? { email } : {}), code: unreadable?.code ?? 'validation_failed', message: unreadable?.message ?? 'the row could not be read' };
  const checked = checkRow(fields);
  return 'valid' in checked ? { row, valid: checked.valid } : { row, ...(email ? { email } : {}), ...checked };
}

/** A row refused by a rule keeps its code; anything else is not a row's fault and stops the job (it resumes from its checkpoint). */
function rowError(row: number, email: string, error: unknown): RowError {
  if (error instanceof DomainError) return { row, email, code: error.code, message: error.message };
  throw error;
}

/**
 * The rows of the next batch: from `start` to the end of the chunk, cut before an email or username
 * already in the batch (a batch decides each row against the log as it was before the batch, so the
 * second of two rows for one person goes in the next batch and is refused there, as a single create would).
 */
function batchFrom(rows: SourceRow[], start: number): SourceRow[] {
  const emails = new Set<string>();
  const usernames = new Set<string>();
  let end = start;
  for (; end < rows.length; end++) {
    const fields = rows[end].fields ?? {};
    const email = typeof fields.email === 'string' ? normalizeEmailSafely(fields.email) : undefined;
    const username = typeof fields.username === 'string' ? fields.username.toLowerCase() : undefined;
    if ((email && emails.has(email)) || (username && usernames.has(username))) break;
    if (email) emails.add(email);
    if (username) usernames.add(username);
  }
  return rows.slice(start, Math.max(end, start + 1));
}

function normalizeEmailSafely(email: string): string {
  try {
    return normalizeEmail(email);
  } catch {
    return email.trim().toLowerCase();
  }
}
