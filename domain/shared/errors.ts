/**
 * What kind of refusal an error is. The edge turns a kind into an HTTP status (src/shared/api-error.ts)
 * and puts it beside the code in a Kafka reply; clients that do not know a code can still act on its kind.
 */
export type ErrorKind =
  | 'malformed' // the request cannot be read as given: not JSON, a field of the wrong shape, a token we never issued
  | 'invalid' // read and understood, but a value breaks a rule (a weak password, an unknown role, a door code run)
  | 'precondition' // the values are fine but the target is not in a state that allows it (yet)
  | 'unauthenticated' // no proof of who is asking, or a proof that does not check out
  | 'forbidden' // the actor may not do this
  | 'not_found' // no such thing, or one the actor may not know of (R-SEC-1)
  | 'conflict' // clashes with what exists: taken, already there, still in use, changed concurrently
  | 'gone' // a link or invitation that was real and can no longer be used
  | 'too_many' // a rate limit: retry after `details.retryAfterSeconds`
  | 'unavailable' // the service cannot answer this now: retry later, or once it is configured
  | 'timeout' // the request did not arrive in time
  | 'too_large' // the request body is over its limit
  | 'uri_too_long'
  | 'headers_too_large'
  | 'unsupported_media' // a body in a media type or charset the API does not read
  | 'internal'; // our fault: never a stack trace

/**
 * Every error code Gatehouse answers with, and its kind. A code is part of the public contract: clients and
 * tests match on it. `DomainError` takes only these, so a misspelt or new code fails to compile until it is here.
 */
export const ERRORS = {
  // malformed
  validation_failed: 'malformed',
  malformed_json: 'malformed',
  malformed_unicode: 'malformed',
  malformed_url: 'malformed',
  too_deep: 'malformed',
  bad_request: 'malformed',
  link_invalid: 'malformed',
  unknown_command: 'malformed',

  // invalid
  weak_password: 'invalid',
  password_required: 'invalid',
  email_not_verified: 'invalid',
  unknown_role: 'invalid',
  unknown_permission: 'invalid',
  unknown_location: 'invalid',
  no_locations: 'invalid',
  owner_not_assignable: 'invalid',
  builtin_role: 'invalid',
  invalid_role: 'invalid',
  invalid_location: 'invalid',
  invalid_policy: 'invalid',
  invalid_move: 'invalid',
  expiry_in_past: 'invalid',
  at_in_future: 'invalid', // SPEC 5.2
  cannot_transfer_to_self: 'invalid',
  accesscode_format: 'invalid',
  accesscode_repeated: 'invalid',
  accesscode_sequential: 'invalid',

  // precondition
  mfa_not_started: 'precondition',
  role_inactive: 'precondition',
  role_is_default: 'precondition',
  target_not_active: 'precondition',
  not_impersonating: 'precondition',

  // unauthenticated
  unauthenticated: 'unauthenticated',
  invalid_credentials: 'unauthenticated',
  invalid_mfa_code: 'unauthenticated',
  mfa_code_used: 'unauthenticated',

  // forbidden
  forbidden: 'forbidden',
  access_disabled: 'forbidden',
  org_suspended: 'forbidden',
  above_your_ceiling: 'forbidden',
  owner_protected: 'forbidden',
  not_owner: 'forbidden',
  cannot_disable_self: 'forbidden',
  cannot_ban_self: 'forbidden',
  cannot_remove_self: 'forbidden',
  cannot_change_own_role: 'forbidden',
  cannot_impersonate_self: 'forbidden',
  impersonation_scope: 'forbidden',
  not_while_impersonating: 'forbidden',
  system_admin_protected: 'forbidden',
  account_managed_elsewhere: 'forbidden',
  password_change_required: 'forbidden',

  // not_found
  not_found: 'not_found',

  // conflict
  conflict: 'conflict',
  wrong_expected_version: 'conflict',
  idempotency_mismatch: 'conflict',
  idempotency_in_progress: 'conflict',
  idempotency_key_reused: 'invalid',
  already_member: 'conflict',
  owner_cannot_be_erased: 'conflict',
  confirm_name_mismatch: 'invalid',
  email_taken: 'conflict',
  username_taken: 'conflict',
  identity_taken: 'conflict',
  accesscode_taken: 'conflict',
  mfa_already_enabled: 'conflict',
  org_exists: 'conflict',
  user_exists: 'conflict',
  partner_exists: 'conflict',
  role_exists: 'conflict',
  session_exists: 'conflict',
  link_exists: 'conflict',
  service_key_exists: 'conflict',
  location_exists: 'conflict',
  role_name_taken: 'conflict',
  role_in_use: 'conflict',
  not_redrivable: 'conflict',
  no_stripe_customer: 'conflict', // SPEC 5.5

  // gone
  link_used: 'gone',
  link_expired: 'gone',
  link_superseded: 'gone',
  invitation_expired: 'gone',
  invitation_revoked: 'gone',

  // too_many
  too_many_attempts: 'too_many',
  too_many_requests: 'too_many',

  // unavailable
  read_model_behind: 'unavailable',
  billing_not_configured: 'unavailable', // SPEC 5.5
  console_not_built: 'unavailable', // the console's files are made by npm run build
  event_store_unavailable: 'unavailable', // a leader election, a lost connection: retry

  // what the HTTP layer refuses before the app sees the request
  request_timeout: 'timeout',
  body_too_large: 'too_large',
  uri_too_long: 'uri_too_long',
  headers_too_large: 'headers_too_large',
  unsupported_media_type: 'unsupported_media',

  internal: 'internal',
  event_store_refused: 'internal', // the store refused a write it should take (size, a deleted stream, its permissions): an operator's matter
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERRORS;

export const kindOf = (code: ErrorCode): ErrorKind => ERRORS[code];

export const isErrorCode = (code: string): code is ErrorCode => Object.prototype.hasOwnProperty.call(ERRORS, code);

/** A rejected command. The code is stable: clients and tests match on it. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message ?? code.replace(/_/g, ' '));
  }

  get kind(): ErrorKind {
    return ERRORS[this.code];
  }
}

/** The actor lacks a permission; `permission` names it (SPEC: 403 with the missing permission named). */
export class Forbidden extends DomainError {
  constructor(readonly permission: string, message?: string) {
    super('forbidden', message ?? `missing permission ${permission}`, { permission });
  }
}

/** Only a system administrator may do this (R-SYS-1): a `forbidden` that names the `system` permission. */
export const systemAdminsOnly = (message = 'system administrators only'): Forbidden => new Forbidden('system', message);

/** Something that does not exist, or exists in an org the actor cannot see (R-SEC-1). */
export class NotFound extends DomainError {
  constructor(what: string) {
    super('not_found', `${what} not found`);
  }
}
