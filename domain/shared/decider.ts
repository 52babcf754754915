export interface DomainEvent<T extends string = string, D = unknown> {
  type: T;
  data: D;
}

/** Who acts, and when. Everything a decision needs from outside comes in here. */
export interface Context {
  now: Date;
  actor: { kind: 'user' | 'service' | 'system' | 'anonymous'; id: string };
}

/** Emmett-style decider: decisions are pure functions of state, command and context. */
export interface Decider<S, C, E extends DomainEvent, X extends Context = Context> {
  initialState: () => S;
  decide: (state: S, command: C, context: X) => E[];
  evolve: (state: S, event: E) => S;
}

export function fold<S, E extends DomainEvent>(decider: { initialState: () => S; evolve: (state: S, event: E) => S }, events: readonly E[]): S {
  return events.reduce(decider.evolve, decider.initialState());
}
