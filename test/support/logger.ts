import { ConsoleLogger } from '@nestjs/common';

/** Keeps every line the app logs, as it would print it: for scans of what the logs hold. */
export class CapturingLogger extends ConsoleLogger {
  readonly lines: string[] = [];
  constructor() {
    super({ json: true, logLevels: ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'] });
  }
  protected override printMessages(messages: unknown[], context?: string, logLevel?: string): void {
    this.lines.push(JSON.stringify({ messages, context, logLevel }));
  }
}
