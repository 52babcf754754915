import type { Decider, DomainEvent } from '../shared/decider';
import { DomainError } from '../shared/errors';

/** One stream per (org, code): a code belongs to one member of the org (R-CODE-1). */
export const accessCodeStream = (orgId: string, code: string) => `accesscode-${orgId}-${code}`;

export type AccessCodeProblem = 'accesscode_format' | 'accesscode_repeated' | 'accesscode_sequential';

/** R-CODE-2: exactly 6 digits, no run up or down (123456, 654321, 234567 …), not one digit repeated. */
export function accessCodeProblem(code: string): AccessCodeProblem | undefined {
  if (!/^\d{6}$/.test(code)) return 'accesscode_format';
  const digits = [...code].map(Number);
  const steps = new Set(digits.slice(1).map((d, i) => d - digits[i]));
  if (steps.size === 1 && steps.has(0)) return 'accesscode_repeated';
  if (steps.size === 1 && (steps.has(1) || steps.has(-1))) return 'accesscode_sequential';
  return undefined;
}

const MESSAGES: Record<AccessCodeProblem, string> = {
  accesscode_format: 'an access code is exactly 6 digits',
  accesscode_repeated: 'an access code cannot be one digit repeated',
  accesscode_sequential: 'an access code cannot be a run of digits such as 123456 or 654321',
};

export function requireValidAccessCode(code: string): void {
  const problem = accessCodeProblem(code);
  if (problem) throw new DomainError(problem, MESSAGES[problem], { code: problem === 'accesscode_format' ? undefined : code });
}

type CodeHolder = { orgId: string; code: string; userId: string };
export type AccessCodeEvent = DomainEvent<'AccessCodeReserved', CodeHolder> | DomainEvent<'AccessCodeReleased', CodeHolder>;

export interface AccessCodeReservation {
  userId?: string;
}

export const accessCodeReservation: Decider<AccessCodeReservation, { type: 'Reserve' | 'Release'; orgId: string; code: string; userId: string }, AccessCodeEvent> = {
  initialState: () => ({}),
  decide(state, { type, orgId, code, userId }) {
    if (type === 'Release') return state.userId === userId ? [{ type: 'AccessCodeReleased', data: { orgId, code, userId } }] : [];
    if (state.userId === userId) return [];
    if (state.userId) throw new DomainError('accesscode_taken', 'another member of this organization has this code');
    return [{ type: 'AccessCodeReserved', data: { orgId, code, userId } }];
  },
  evolve: (_state, event) => (event.type === 'AccessCodeReserved' ? { userId: event.data.userId } : {}),
};
