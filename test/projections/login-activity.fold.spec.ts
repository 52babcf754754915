import type { Recorded } from '../../domain/events';
import { LOGIN_ACTIVITY, loginActivity, type LoginAttempt } from '../../projections/login-activity';
import { eventLog, replay } from '../support/workspace';

/** Login activity as its fold leaves it: given events → attempts, no database. */
const ADA = 'u-ada';
const iso = (event: Recorded) => event.recordedAt.toISOString();
const seq = (event: Recorded) => event.position.toString().padStart(20, '0');
const attempts = async (events: Recorded[]) => (await replay(loginActivity, events)).all<LoginAttempt>(LOGIN_ACTIVITY).sort((a, b) => a.seq.localeCompare(b.seq));

describe('login activity, folded from events without a database (projections/login-activity.ts)', () => {
  it('R-CRED-6 a successful sign-in: action, outcome, address, user agent, method and time', async () => {
    const log = eventLog();
    const signedIn = log.event('SignedIn', { userId: ADA, method: 'password', ip: '203.0.113.7', userAgent: 'Firefox/140', sessionId: 's1' });
    expect(await attempts([signedIn])).toEqual([{ id: signedIn.eventId, userId: ADA, action: 'sign-in', success: true, ip: '203.0.113.7', userAgent: 'Firefox/140', method: 'password', at: iso(signedIn), seq: seq(signedIn) }]);
  });

  it('R-CRED-6 a failed sign-in keeps its reason; every attempt is its own entry, in the order they happened', async () => {
    const log = eventLog();
    const wrong = log.event('SignInFailed', { userId: ADA, method: 'password', ip: '198.51.100.4', userAgent: 'curl/8', reason: 'wrong_password' });
    const secondFactor = log.event('SignInFailed', { userId: ADA, method: 'magic-link', ip: '198.51.100.4', userAgent: 'curl/8', reason: 'wrong_mfa_code' });
    const signedIn = log.event('SignedIn', { userId: ADA, method: 'magic-link', ip: '198.51.100.4', userAgent: 'curl/8', sessionId: 's2' });

    const all = await attempts([wrong, secondFactor, signedIn]);
    expect(all).toEqual([
      { id: wrong.eventId, userId: ADA, action: 'sign-in', success: false, failureReason: 'wrong_password', ip: '198.51.100.4', userAgent: 'curl/8', method: 'password', at: iso(wrong), seq: seq(wrong) },
      { id: secondFactor.eventId, userId: ADA, action: 'sign-in', success: false, failureReason: 'wrong_mfa_code', ip: '198.51.100.4', userAgent: 'curl/8', method: 'magic-link', at: iso(secondFactor), seq: seq(secondFactor) },
      { id: signedIn.eventId, userId: ADA, action: 'sign-in', success: true, ip: '198.51.100.4', userAgent: 'curl/8', method: 'magic-link', at: iso(signedIn), seq: seq(signedIn) },
    ]);
  });

  it('R-CRED-6 positions sort as text too (zero-padded), so the newest-first read is right past 9', async () => {
    const log = eventLog();
    const events = Array.from({ length: 12 }, (_, n) => log.event('SignedIn', { userId: ADA, method: 'password', ip: '203.0.113.7', userAgent: 'ua', sessionId: `s${n}` }));
    const docs = await replay(loginActivity, events);
    const newestFirst = docs.all<LoginAttempt>(LOGIN_ACTIVITY).sort((a, b) => b.seq.localeCompare(a.seq));
    expect(newestFirst.map((a) => a.id)).toEqual(events.map((e) => e.eventId).reverse());
  });

  it('R-CRED-6 only sign-in attempts are login activity: sessions, passwords and profile changes are not', async () => {
    expect(loginActivity.handles).toEqual(['SignedIn', 'SignInFailed', 'UserErased']);
  });

  it('R-ACC-3 an erased person leaves no attempt behind; others keep theirs', async () => {
    const log = eventLog();
    const ada = log.event('SignedIn', { userId: ADA, method: 'password', ip: '203.0.113.7', userAgent: 'Firefox/140', sessionId: 's1' });
    const bob = log.event('SignedIn', { userId: 'u-bob', method: 'password', ip: '203.0.113.8', userAgent: 'Safari/18', sessionId: 's2' });
    const failed = log.event('SignInFailed', { userId: ADA, method: 'password', ip: '203.0.113.7', userAgent: 'Firefox/140', reason: 'wrong_password' });
    const erased = log.event('UserErased', { userId: ADA, by: 'u-admin' });
    expect((await attempts([ada, bob, failed, erased])).map((a) => a.id)).toEqual([bob.eventId]);
  });
});
