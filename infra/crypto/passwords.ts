import { availableParallelism } from 'node:os';
import { Algorithm, hash, verify } from '@node-rs/argon2';

/** OWASP's argon2id parameters: 19 MiB, 2 iterations, 1 lane. */
const PARAMETERS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * Hashing runs on libuv's thread pool, off the event loop. At most this many at
 * once: one pool thread stays free for file and DNS work, and one core for the
 * event loop, so a flood of sign-ins queues here instead of starving every other
 * request (bench/signin: on 2 cores, 1 at a time kept session checks fast with
 * the same sign-in rate).
 */
const MAX_PARALLEL = Math.max(1, Math.min(Number(process.env.UV_THREADPOOL_SIZE ?? 4) - 1, availableParallelism() - 1));
let running = 0;
const waiting: Array<() => void> = [];

async function bounded<T>(work: () => Promise<T>): Promise<T> {
  // A finishing call hands its slot straight to the next in line, so none can slip in between.
  if (running >= MAX_PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

export function hashPassword(password: string): Promise<string> {
  return bounded(() => hash(password, PARAMETERS));
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await bounded(() => verify(passwordHash, password));
  } catch {
    return false;
  }
}
