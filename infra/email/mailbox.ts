import { mkdir, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Mailer, OutgoingEmail } from './port';

/**
 * The embedded mailbox (SPEC 3.2): one JSON file per message in a folder, so a
 * person or a test can follow any link end to end. Written to a temp name and
 * renamed, so a reader never sees half a file.
 */
export class MailboxMailer implements Mailer {
  /** Orders messages sent within the same millisecond: file names sort in sending order. */
  private sequence = 0;

  constructor(private readonly folder: string, private readonly clock: () => Date = () => new Date()) {}

  async send(email: OutgoingEmail): Promise<void> {
    await mkdir(this.folder, { recursive: true });
    const sentAt = this.clock();
    const name = `${sentAt.toISOString().replace(/[:.]/g, '-')}-${String(this.sequence++).padStart(6, '0')}-${randomUUID().slice(0, 8)}.json`;
    const temp = join(this.folder, `.${name}.tmp`);
    const { model: _model, ...message } = email;
    await writeFile(temp, JSON.stringify({ ...message, sentAt: sentAt.toISOString() }, null, 2));
    await rename(temp, join(this.folder, name));
  }
}
