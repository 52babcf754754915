/** A rejected command. The code is stable: clients and tests match on it. */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message ?? code.replace(/_/g, ' '));
  }
}

/** The actor lacks a permission; `permission` names it (SPEC: 403 with the missing permission named). */
export class Forbidden extends DomainError {
  constructor(readonly permission: string, message?: string) {
    super('forbidden', message ?? `missing permission ${permission}`, { permission });
  }
}

/** Something that does not exist, or exists in an org the actor cannot see (R-SEC-1). */
export class NotFound extends DomainError {
  constructor(what: string) {
    super('not_found', `${what} not found`);
  }
}
