import { EventRegistry } from '../../domain/shared/event-registry';

/**
 * Every event type Gatehouse writes, at its current schema version. A type whose
 * data changes shape gets a new version and an upcaster here; stored events stay.
 */
export function gatehouseEvents(): EventRegistry {
  const registry = new EventRegistry();
  for (const type of [
    'OrganizationCreated',
    'UserRegistered',
    'PasswordSet',
    'EmailReserved',
    'MemberAdded',
    'UserInvited',
    'InvitationResent',
    'SessionStarted',
  ]) {
    registry.register(type, 1);
  }
  return registry;
}
