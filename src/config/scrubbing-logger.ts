import type { LoggerService } from '@nestjs/common';
import { secretScrubber } from './config';

const METHODS = new Set(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']);

/**
 * A logger that never prints a secret setting's value: every line (text, error, object) has
 * them replaced first. Nest's own bootstrap errors go through it, before main can catch them.
 */
export function scrubbingLogger(logger: LoggerService, settings: object): LoggerService {
  const scrub = secretScrubber(settings as Record<string, unknown>);
  if (!scrub) return logger;
  const clean = (value: unknown): unknown => {
    if (typeof value === 'string') return scrub(value);
    if (value instanceof Error) {
      const copy = new Error(scrub(value.message));
      copy.name = value.name;
      copy.stack = value.stack === undefined ? undefined : scrub(value.stack);
      return copy;
    }
    if (value !== null && typeof value === 'object') {
      try {
        const json = JSON.stringify(value);
        const scrubbed = scrub(json);
        return scrubbed === json ? value : JSON.parse(scrubbed);
      } catch {
        return value;
      }
    }
    return value;
  };
  return new Proxy(logger, {
    get(target, property, receiver) {
      const member: unknown = Reflect.get(target, property, receiver);
      if (typeof member !== 'function' || !METHODS.has(String(property))) return member;
      return (...args: unknown[]) => (member as (...a: unknown[]) => unknown).apply(target, args.map(clean));
    },
  });
}
