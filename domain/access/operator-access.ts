import type { DomainEvent } from '../shared/decider';
import type { Reach } from './access';

/** Where an org's operator access is recorded: apart from its decisions, which nothing here is. */
export const operatorAccessStream = (orgId: string) => `operator-access-${orgId}`;

/** R-SEC-1: someone reached the org as an operator (a system admin, a partner admin), not as its member: who, what, when (the envelope's time). */
export type OperatorAccessEvent = DomainEvent<'OperatorAccessed', { orgId: string; operatorId: string; via: 'system-admin' | 'partner'; action: string }>;

/**
 * R-SEC-1: a read of an org by someone who reaches it through their own rules
 * (R-SYS-1, R-SYS-2) is recorded in that org's history; its members' reads are
 * not. (Their writes need no such record: every event already names its actor.)
 */
export function operatorAccess(orgId: string, operatorId: string, via: Reach['via'], action: string): OperatorAccessEvent[] {
  return via === 'system-admin' || via === 'partner' ? [{ type: 'OperatorAccessed', data: { orgId, operatorId, via, action } }] : [];
}
