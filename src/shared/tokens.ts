export const EVENT_STORE = Symbol('EventStore');
export const CLOCK = Symbol('Clock');
export type Clock = () => Date;
export const READ_STORE = Symbol('ReadStore');
/** The message bus (Kafka), or null when none is configured. */
export const MESSAGE_BUS = Symbol('MessageBus');
/** How this replica takes part in leases (shared/supervisor.ts `Leasing`). */
export const LEASING = Symbol('Leasing');
/** Personal data's per-person keys (infra/personal/personal-data.ts `PersonalData`): erasure and the export use it. */
export const PERSONAL_DATA = Symbol('PersonalData');
