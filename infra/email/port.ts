export interface OutgoingEmail {
  to: string;
  bcc?: string;
  template: 'invitation' | 'setup' | 'password-reset' | 'magic-link' | 'seat-change';
  subject: string;
  text: string;
  link?: string;
}

export interface Mailer {
  send(email: OutgoingEmail): Promise<void>;
}

export const MAILER = Symbol('Mailer');
