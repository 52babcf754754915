import { ServerClient } from 'postmark';
import { isPermanentStatus, PermanentFailure } from '../permanent-failure';
import type { Mailer, OutgoingEmail } from './port';

/**
 * Sends through Postmark's templates: the template alias is the email's kind
 * (`invitation`, `setup`, …), and the model carries subject, text and link. The
 * transactional stream: these go out whatever the recipient's preferences (R-PREF-3).
 */
export class PostmarkMailer implements Mailer {
  private readonly client: ServerClient;

  constructor(
    serverToken: string,
    private readonly from: string,
    apiUrl?: string,
  ) {
    const url = apiUrl ? new URL(apiUrl) : undefined;
    this.client = new ServerClient(serverToken, url ? { useHttps: url.protocol === 'https:', requestHost: url.host, timeout: 30 } : { timeout: 30 });
  }

  async send(email: OutgoingEmail): Promise<void> {
    try {
      await this.client.sendEmailWithTemplate({
        From: this.from,
        To: email.to,
        ...(email.bcc ? { Bcc: email.bcc } : {}),
        TemplateAlias: email.template,
        TemplateModel: { subject: email.subject, text: email.text, ...(email.link ? { link: email.link } : {}), ...(email.model ?? {}) },
        Tag: email.template,
        MessageStream: 'outbound',
        TrackOpens: false,
      });
    } catch (error) {
      const { statusCode, code, message } = error as { statusCode?: number; code?: number; message?: string };
      if (isPermanentStatus(statusCode)) throw new PermanentFailure(message ?? 'Postmark refused the message', statusCode, code);
      throw error;
    }
  }
}
