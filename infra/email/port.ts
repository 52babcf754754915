export interface OutgoingEmail {
  to: string;
  bcc?: string;
  template: 'invitation' | 'setup' | 'password-reset' | 'magic-link' | 'seat-change' | 'sent-confirmation' | 'member-added';
  subject: string;
  text: string;
  link?: string;
  /** Extra fields for a provider's template (Postmark's TemplateModel); subject, text and link are always in it. */
  model?: Record<string, string | number>;
}

export interface Mailer {
  send(email: OutgoingEmail): Promise<void>;
}

export const MAILER = Symbol('Mailer');
