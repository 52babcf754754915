export const EVENT_STORE = Symbol('EventStore');
export const CLOCK = Symbol('Clock');
export type Clock = () => Date;
export const READ_STORE = Symbol('ReadStore');
