import { SetMetadata } from '@nestjs/common';

export const COMMAND_TYPE = 'gatehouse:command-type';

export interface CommandTypeOptions {
  /** Payload fields that are the route's query string rather than its body (`unsubscribe`'s `token`). */
  query?: string[];
}

/**
 * The command type of this route on `gatehouse.commands` (SPEC 3.2, 5.7). The one mapping
 * from command type to command: the Kafka dispatcher reads it off the controllers at boot
 * and runs the same method with the same guards, pipes and error codes as HTTP.
 */
export const CommandType = (type: string, options: CommandTypeOptions = {}) => SetMetadata(COMMAND_TYPE, { type, ...options });
