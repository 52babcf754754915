import type { Context, Decider, DomainEvent } from '../../domain/shared/decider';
import { fold } from '../../domain/shared/decider';
import { DomainError } from '../../domain/shared/errors';

export const NOW = new Date('2026-11-25T10:00:00.000Z');
export const ctx = (actorId = 'u-actor', now = NOW): Context => ({ now, actor: { kind: 'user', id: actorId } });

/** Given/when/then for deciders: given past events, when a command, then events or a rejection's code. */
export function given<S, C, E extends DomainEvent, X extends Context>(decider: Decider<S, C, E, X>, ...history: NoInfer<E>[]) {
  return {
    when(command: C, context: X) {
      const run = () => decider.decide(fold(decider, history), command, context);
      return {
        then(expected: NoInfer<E>[]) {
          expect(run()).toEqual(expected);
        },
        thenFails(code: string, details?: Record<string, unknown>) {
          let error: unknown;
          try {
            run();
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(DomainError);
          expect((error as DomainError).code).toBe(code);
          if (details) expect((error as DomainError).details).toMatchObject(details);
        },
      };
    },
  };
}
