import { randomUUID } from 'node:crypto';
import type { NewEvent } from '../../infra/eventstore/port';

export const testActor = { kind: 'user' as const, id: 'u-tester' };

export function newEvent(type: string, data: unknown = {}, extra: Partial<NewEvent> = {}): NewEvent {
  return {
    eventId: randomUUID(),
    type,
    data,
    metadata: { actor: testActor, correlationId: randomUUID(), orgId: 'org-test' },
    ...extra,
  };
}

export function uniquePrefix(): string {
  return `t${randomUUID().slice(0, 8)}-`;
}
