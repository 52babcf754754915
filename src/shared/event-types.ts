import { EventRegistry } from '../../domain/shared/event-registry';

/**
 * Every event type Gatehouse writes, at its current schema version. A type whose
 * data changes shape gets a new version and an upcaster here; stored events stay.
 */
export function gatehouseEvents(): EventRegistry {
  const registry = new EventRegistry();
  for (const type of [
    'OrganizationCreated',
    'OrganizationSuspended',
    'OrganizationReactivated',
    'PlanChanged',
    'SeatQuantityUpdated',
    'LocationAdded',
    'PolicyChanged',
    'RoleCreated',
    'RoleUpdated',
    'OwnershipTransferred',
    'UserProfileUpdated',
    'PasswordSet',
    'EmailReserved',
    'UsernameReserved',
    'UsernameReleased',
    'MemberAdded',
    'RoleChanged',
    'AccessDisabled',
    'AccessEnabled',
    'MemberRemoved',
    'MemberApproved',
    'MemberMarkedPending',
    'UserBanned',
    'UserUnbanned',
    'PermissionGranted',
    'PermissionRevoked',
    'PermissionExpired',
    'AccessCodeAssigned',
    'AccessCodeReserved',
    'AccessCodeReleased',
    'MemberNotesUpdated',
    'AvailabilityChanged',
    'UserInvited',
    'InvitationResent',
    'InvitationRevoked',
    'InvitationAccepted',
    'LinkIssued',
    'LinkEmailRequested',
    'LinkUsed',
    'SessionStarted',
    'SessionRevoked',
    'ImpersonationStarted',
    'ImpersonationEnded',
    'SessionsRevoked',
    'SignedIn',
    'SignInFailed',
    'IdentityLinked',
    'IdentityReserved',
    'MfaEnrollmentStarted',
    'MfaEnabled',
    'MfaCodeUsed',
    'BackupCodeUsed',
    'MfaReset',
    'ServiceKeyIssued',
    'ServiceKeyRevoked',
    'PartnerCreated',
    'PartnerAdminAdded',
    'PartnerOrgAttached',
  ]) {
    registry.register(type, 1);
  }
  // v2 names the account's manager (R-SEC-4). A v1 account was made by a command in one org: that org manages it.
  registry.register('UserRegistered', 2, { 1: (data, { orgId }) => ({ ...data, ...(orgId ? { managedBy: { orgId } } : {}) }) });
  return registry;
}
