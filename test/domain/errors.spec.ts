import type { ArgumentsHost } from '@nestjs/common';
import { DomainError, ERRORS, Forbidden, kindOf, systemAdminsOnly, type ErrorCode } from '../../domain/shared/errors';
import { WrongExpectedVersion } from '../../infra/eventstore/port';
import { ApiErrorFilter, STATUS_OF_KIND, statusOf } from '../../src/shared/api-error';
import { commandError } from '../../src/messaging/kafka-commands';

const CODES = Object.keys(ERRORS) as ErrorCode[];

/** What the HTTP filter answers for an error, through a reply that only records. */
function answer(error: unknown): { status: number; body: { code: string } } {
  const sent = { status: 0, body: { code: '' } };
  const reply = {
    status(status: number) { sent.status = status; return reply; },
    header() { return reply; },
    send(body: { code: string }) { sent.body = body; return reply; },
  };
  const host = { switchToHttp: () => ({ getResponse: () => reply }) } as unknown as ArgumentsHost;
  new ApiErrorFilter().catch(error, host);
  return sent;
}

/** The status each code answered before the catalogue: the hand-kept table, 422 for anything missing from it. */
const BEFORE: Partial<Record<ErrorCode, number>> = {
  validation_failed: 400, link_invalid: 400, malformed_json: 400, malformed_unicode: 400, too_deep: 400, malformed_url: 400, bad_request: 400,
  unauthenticated: 401, invalid_credentials: 401, invalid_mfa_code: 401,
  forbidden: 403, access_disabled: 403, above_your_ceiling: 403, owner_protected: 403, cannot_disable_self: 403, cannot_ban_self: 403,
  cannot_remove_self: 403, cannot_change_own_role: 403, cannot_impersonate_self: 403, impersonation_scope: 403, password_change_required: 403,
  org_suspended: 403, system_admin_protected: 403, account_managed_elsewhere: 403, not_while_impersonating: 403, not_owner: 403,
  not_found: 404, request_timeout: 408,
  conflict: 409, not_redrivable: 409, already_member: 409, email_taken: 409, username_taken: 409, accesscode_taken: 409, mfa_already_enabled: 409,
  identity_taken: 409, org_exists: 409, user_exists: 409, location_exists: 409, role_name_taken: 409, role_in_use: 409,
  wrong_expected_version: 409, idempotency_mismatch: 409, // answered as `conflict`
  link_used: 410, link_expired: 410, link_superseded: 410, invitation_expired: 410, invitation_revoked: 410,
  body_too_large: 413, uri_too_long: 414, unsupported_media_type: 415, too_many_attempts: 429, too_many_requests: 429, headers_too_large: 431,
  internal: 500, read_model_behind: 503,
};

/** The codes whose status the catalogue changed, to their kind's: each is listed with its reason in the issue-12 note. */
const CHANGED: Partial<Record<ErrorCode, number>> = {
  role_exists: 409, // 422 before, where org_exists, user_exists and location_exists were 409
  partner_exists: 409,
  service_key_exists: 409,
  session_exists: 409,
  link_exists: 409,
  mfa_code_used: 401, // 422 before, where invalid_mfa_code was 401: both are a second factor that does not prove anything
};

/** Codes that had no HTTP status before: SPEC fixes theirs (5.2, 5.5), or they are answered over Kafka only. */
const NEW: Partial<Record<ErrorCode, number>> = { no_stripe_customer: 409, billing_not_configured: 503, at_in_future: 422, unknown_command: 400, event_store_unavailable: 503, event_store_refused: 500, idempotency_in_progress: 409, idempotency_key_reused: 422, owner_cannot_be_erased: 409, confirm_name_mismatch: 422, console_not_built: 503 };

describe('the error catalogue', () => {
  it('gives every code a kind, and every kind a 4xx or 5xx status', () => {
    for (const code of CODES) {
      expect(STATUS_OF_KIND[kindOf(code)]).toBeGreaterThanOrEqual(400);
      expect(statusOf(code)).toBeLessThan(600);
    }
  });

  it('keeps the status of every code that clients already saw, but for the ones named as changed', () => {
    const answered = Object.fromEntries(CODES.map((code) => [code, statusOf(code)]));
    const expected = Object.fromEntries(CODES.map((code) => [code, CHANGED[code] ?? NEW[code] ?? BEFORE[code] ?? 422]));
    expect(answered).toEqual(expected);
  });

  it('answers an "already exists" with 409 like org_exists, whatever the stream (was 422)', () => {
    for (const code of ['role_exists', 'partner_exists', 'service_key_exists', 'session_exists', 'link_exists'] as const) {
      expect(answer(new DomainError(code))).toMatchObject({ status: 409, body: { code } });
    }
    expect(answer(new DomainError('org_exists'))).toMatchObject({ status: 409, body: { code: 'org_exists' } });
  });

  it('answers a used MFA code 401 like a wrong one (was 422)', () => {
    expect(answer(new DomainError('mfa_code_used'))).toMatchObject({ status: 401, body: { code: 'mfa_code_used' } });
    expect(answer(new DomainError('invalid_mfa_code'))).toMatchObject({ status: 401, body: { code: 'invalid_mfa_code' } });
  });

  it('keeps the statuses SPEC fixes', () => {
    expect(statusOf('no_stripe_customer')).toBe(409);
    expect(statusOf('billing_not_configured')).toBe(503);
    expect(statusOf('at_in_future')).toBe(422);
    expect(answer(new DomainError('access_disabled'))).toMatchObject({ status: 403, body: { code: 'access_disabled' } });
    expect(answer(new WrongExpectedVersion('member-o-u', 3, 4))).toMatchObject({ status: 409, body: { code: 'conflict' } });
  });

  it('refuses an unknown code at compile time', () => {
    // @ts-expect-error not a code of the catalogue
    expect(new DomainError('role_exist').kind).toBeUndefined();
    expect(new DomainError('owner_protected').kind).toBe('forbidden');
  });

  it('R-SYS-1 builds the system-admins-only refusal in one place: forbidden, naming the system permission', () => {
    const refusal = systemAdminsOnly();
    expect(refusal).toBeInstanceOf(Forbidden);
    expect(refusal).toMatchObject({ code: 'forbidden', kind: 'forbidden', message: 'system administrators only', details: { permission: 'system' } });
    expect(answer(systemAdminsOnly('partners are created by system administrators'))).toMatchObject({ status: 403, body: { code: 'forbidden', details: { permission: 'system' } } });
  });

  it('gives a Kafka reply the HTTP answer’s code and the catalogue’s kind', () => {
    expect(commandError(409, { code: 'role_exists', message: 'role x already exists' })).toEqual({ code: 'role_exists', kind: 'conflict', message: 'role x already exists' });
    expect(commandError(400, { code: 'validation_failed', message: 'bad', details: { fields: [] } })).toEqual({ code: 'validation_failed', kind: 'malformed', message: 'bad', details: { fields: [] } });
    expect(commandError(429, { code: 'too_many_requests', message: 'later' })).toMatchObject({ kind: 'too_many' });
    // An answer the framework made with a code not ours: its kind follows from the status, its code is kept.
    expect(commandError(404, { code: 'elsewhere', message: '' })).toMatchObject({ code: 'elsewhere', kind: 'not_found' });
  });
});
