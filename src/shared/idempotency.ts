import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { SecretBox } from '../../infra/crypto/sealing';
import type { Doc, ReadStore } from '../../infra/readstore/port';
import { DomainError } from '../../domain/shared/errors';
import { CLOCK, READ_STORE, type Clock } from './tokens';

/** The first answers of commands sent with an idempotency key (HTTP `Idempotency-Key`, a Kafka command's `idempotencyKey`). */
export const COMMAND_RESULTS = 'command_results';

/** 8 to 200 letters, digits or `._:-`. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{8,200}$/;

/** A first answer is given again for this long (SPEC 3.1: 24 h). */
const KEEP_MS = 24 * 3_600_000;
/** A claim older than this belongs to a replica that died mid-command: another may run it. */
const STALE_MS = 60_000;
/** How long a repeat waits for the first, still running, before it is told so. */
const WAIT_MS = 10_000;

interface Claim extends Doc {
  rev: number;
  state: 'running' | 'done';
  /** What the command said (its body), hashed: the same key with another command is refused. */
  fingerprint: string;
  /** The first answer, sealed: it may hold a temporary password or a token. */
  sealed?: string;
  at: string;
  forgetAfter: string;
}

export type Begun<R> = { run: true } | { run: false; reply: R };

/**
 * Idempotency keys across replicas: the first request of a key claims it in the shared
 * read store (a create, which only one replica can win), runs, and keeps its answer if it
 * succeeded; a repeat — on any replica — gets that answer, or waits while the first runs.
 * A failed first attempt leaves nothing behind, so the fixed or retried command may pass.
 */
@Injectable()
export class IdempotentCommands {
  private lastSweep = 0;

  constructor(
    @Inject(READ_STORE) private readonly store: ReadStore,
    private readonly box: SecretBox,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** The key of a caller's command: keyed per caller (one caller's key never answers another's command) and per kind. */
  static keyOf(caller: string, kind: string, key: string): string {
    return createHash('sha256').update(`${caller}\u0000${kind}\u0000${key}`).digest('hex');
  }

  static fingerprintOf(command: unknown): string {
    return createHash('sha256').update(JSON.stringify(command ?? null)).digest('hex');
  }

  /** Claims the key (`run: true`: the caller runs the command, then `finish`es or `abandon`s it), or gives the first answer. */
  async begin<R>(id: string, fingerprint: string): Promise<Begun<R>> {
    await this.sweep();
    const until = Date.now() + WAIT_MS;
    for (;;) {
      const now = this.clock();
      const claim = { id, state: 'running' as const, fingerprint, at: now.toISOString(), forgetAfter: new Date(now.getTime() + KEEP_MS).toISOString() };
      if (await this.store.swap<Claim>(COMMAND_RESULTS, claim, 0)) return { run: true };
      const held = (await this.store.getMany<Claim & { sealed: string }>(COMMAND_RESULTS, [id])).get(id);
      if (!held) continue; // abandoned meanwhile: claim it again
      // Kept before claims existed: a plain first answer.
      if (held.state === undefined || held.state === 'done') {
        if (held.fingerprint !== undefined && held.fingerprint !== fingerprint) throw reused();
        return { run: false, reply: JSON.parse(this.box.open(held.sealed)) as R };
      }
      if (held.fingerprint !== fingerprint) throw reused();
      if (now.getTime() - Date.parse(held.at) > STALE_MS) {
        const { rev, ...rest } = held;
        if (await this.store.swap<Claim>(COMMAND_RESULTS, { ...rest, at: now.toISOString() }, rev)) return { run: true };
        continue;
      }
      if (Date.now() > until) throw new DomainError('idempotency_in_progress', 'a command with this idempotency key is still running; try again shortly');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Keeps the first answer of a command that succeeded. */
  async finish<R>(id: string, reply: R): Promise<void> {
    const held = (await this.store.getMany<Claim>(COMMAND_RESULTS, [id])).get(id);
    if (!held || held.state !== 'running') return;
    const { rev, ...rest } = held;
    await this.store.swap<Claim>(COMMAND_RESULTS, { ...rest, state: 'done', sealed: this.box.seal(JSON.stringify(reply)) }, rev);
  }

  /** Lets the key go: the command failed, and a retry may run it. */
  async abandon(id: string): Promise<void> {
    await this.store.deleteWhere(COMMAND_RESULTS, { id, state: 'running' });
  }

  /** Runs `command` once per key; `keep` says whether its answer is the one to give again. */
  async once<R>(id: string, fingerprint: string, command: () => Promise<R>, keep: (reply: R) => boolean): Promise<R> {
    const begun = await this.begin<R>(id, fingerprint);
    if (!begun.run) return begun.reply;
    let reply: R;
    try {
      reply = await command();
    } catch (error) {
      await this.abandon(id).catch(() => undefined);
      throw error;
    }
    if (keep(reply)) await this.finish(id, reply);
    else await this.abandon(id);
    return reply;
  }

  /** First answers older than a day go, now and then. */
  private async sweep(): Promise<void> {
    const now = this.clock();
    if (now.getTime() - this.lastSweep < 600_000) return;
    this.lastSweep = now.getTime();
    await this.store.deleteWhere(COMMAND_RESULTS, { forgetAfter: { lt: now.toISOString() } }).catch(() => undefined);
  }
}

function reused(): DomainError {
  return new DomainError('idempotency_key_reused', 'this idempotency key was used for another command');
}
