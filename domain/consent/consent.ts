import type { Decider, DomainEvent } from '../shared/decider';

/** One person's consent to one org's marketing (SPEC 5.4: each org is its own sender). */
export const consentStream = (orgId: string, userId: string) => `consent-${orgId}-${userId}`;

export type ConsentChannel = 'email' | 'sms';
/** Where a change came from (R-PREF-1): the person's preferences page, an unsubscribe link, a carrier keyword by SMS. */
export type ConsentSource = 'preferences-page' | 'unsubscribe-link' | 'sms-stop' | 'sms-start';

/** R-PREF-1: every change is an entry of the consent log; its time is the event's. */
export type ConsentEvent = DomainEvent<'ConsentChanged', { orgId: string; userId: string; channel: ConsentChannel; subscribed: boolean; source: ConsentSource }>;

export type ConsentCommand = { type: 'SetConsent'; orgId: string; userId: string; channel: ConsentChannel; subscribed: boolean; source: ConsentSource };

export interface Consent {
  emailMarketing: boolean;
  smsMarketing: boolean;
}

/** R-PREF-1: email marketing is opt-out, SMS opt-in. */
export const DEFAULT_CONSENT: Consent = { emailMarketing: true, smsMarketing: false };

/** The carriers' keywords (SPEC 5.4): what an inbound SMS asks for, if anything. */
export function smsKeyword(body: string): { subscribed: boolean; source: ConsentSource } | undefined {
  const word = body.trim().toUpperCase();
  if (['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT'].includes(word)) return { subscribed: false, source: 'sms-stop' };
  if (['START', 'UNSTOP'].includes(word)) return { subscribed: true, source: 'sms-start' };
  return undefined;
}

const field = (channel: ConsentChannel) => (channel === 'email' ? 'emailMarketing' : 'smsMarketing');

export const consent: Decider<Consent, ConsentCommand, ConsentEvent> = {
  initialState: () => ({ ...DEFAULT_CONSENT }),
  decide(state, command) {
    const { orgId, userId, channel, subscribed, source } = command;
    // The same answer again changes nothing (an unsubscribe link followed twice): idempotent, no entry.
    if (state[field(channel)] === subscribed) return [];
    return [{ type: 'ConsentChanged', data: { orgId, userId, channel, subscribed, source } }];
  },
  evolve: (state, event) => ({ ...state, [field(event.data.channel)]: event.data.subscribed }),
};
