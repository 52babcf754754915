import { PERMISSIONS } from '../../domain/access/permissions';
import { createOrg, manualClock, startApp, type OrgSession, type TestApp } from '../support/app';
import { seededRandom } from '../support/random';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const STEPS = Number(process.env.CAPABILITIES_STEPS ?? 60);
const SEED = Number(process.env.CAPABILITIES_SEED ?? 20261202);
/** Every kind of step once, first: two expiring grants, the time passing both expiries, then a revoke of one of them. */
const OPENING = ['grant', 'grant', 'change role', 'disable or enable', 'ban or unban', 'approve or mark pending', 'change the custom role', 'time passes', 'revoke'];

const random = seededRandom;

interface Entry {
  permission: string;
  location?: string;
  via: 'role' | 'grant';
  grantId?: string;
}

/** What capabilities say a check of `permission` in `location` answers: allowed by some entry, and by the role if one of those is the role's. */
function answerOf(permissions: Entry[], permission: string, location: string | undefined) {
  const allowing = permissions.filter((e) => e.permission === permission && (e.location === undefined || e.location === location));
  if (allowing.length === 0) return { allowed: false };
  return { allowed: true, reason: allowing.some((e) => e.via === 'role') ? 'role' : 'grant' };
}

describe('R-AUD-2 property: capabilities at now agree with live POST …/authorize after every step of a random history', () => {
  let t: TestApp;
  const clock = manualClock(new Date('2026-07-01T08:00:00.000Z'));
  let org: OrgSession;
  let member: string;
  let locations: string[];
  let customRole: string;
  beforeAll(async () => {
    t = await startApp({}, { clock });
    org = await createOrg(t, { preset: 'studio' });
    locations = [];
    for (const name of ['North studio', 'South studio']) locations.push((await t.request('POST', `/v1/orgs/${org.orgId}/locations`, { token: org.token, body: { name } })).body.locationId);
    customRole = (await t.request('POST', `/v1/orgs/${org.orgId}/roles`, { token: org.token, body: { name: 'Front desk', color: '#0891b2', description: 'Checks people in', permissions: ['users.list.any'] } })).body.roleId;
    member = (await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'rand@example.com', firstName: 'Ran', lastName: 'Dom', mode: 'set-password', password: 'correct horse battery staple' } })).body.userId;
  });
  afterAll(() => t.close());

  it(`R-AUD-2 R-ROLE-5 R-ROLE-6 R-ROLE-8 R-ACC-1 R-ACC-4 R-ACC-5 ${STEPS} random role changes, grants with expiries, expiries passing, disables, bans (seed ${SEED}, CAPABILITIES_SEED to change)`, async () => {
    const rng = random(SEED);
    const members = `/v1/orgs/${org.orgId}/members/${member}`;
    const grants: string[] = [];
    const revoked = new Set<string>();
    const expiring: Array<{ grantId: string; expiresAt: string }> = [];
    const snapshots: Array<{ at: string; answer: Record<string, unknown>; step: string }> = [];
    const counts: Record<string, number> = {};
    let token = org.token;
    /** As the Owner; hours pass in this history, so its session is renewed when it has run out. */
    const ok = async (what: string, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown) => {
      let response = await t.request(method, url, { token, body });
      if (response.status === 401) {
        token = (await t.request('POST', '/v1/sessions', { body: { email: org.ownerEmail, password: 'correct horse battery' } })).body.token;
        response = await t.request(method, url, { token, body });
      }
      if (response.status >= 300) throw new Error(`seed ${SEED}, ${what}: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body;
    };

    // `first`: the action's first run, in the opening steps, takes the variant that makes the history cover everything.
    const actions: Array<[weight: number, name: string, act: (first: boolean) => Promise<unknown>]> = [
      [4, 'change role', () => ok('role', 'PUT', `${members}/role`, { role: rng.pick(['admin', 'staff', 'user', customRole]), ...(rng.next() < 0.5 ? {} : { locations: [rng.pick(locations), ...rng.some(locations)] }) })],
      [5, 'grant', async (first) => {
        const body = {
          permission: rng.pick(PERMISSIONS),
          reason: 'random',
          ...(rng.next() < 0.3 ? { location: rng.pick(locations) } : {}),
          ...(first || rng.next() < 0.6 ? { expiresAt: new Date(clock().getTime() + rng.int(MINUTE, 3 * HOUR)).toISOString() } : {}),
        };
        const { grantId } = await ok('grant', 'POST', `${members}/grants`, body);
        grants.push(grantId);
        if (body.expiresAt) expiring.push({ grantId, expiresAt: body.expiresAt });
      }],
      [1, 'revoke', async () => {
        if (grants.length === 0) return;
        const grantId = grants.splice(rng.int(0, grants.length - 1), 1)[0];
        revoked.add(grantId);
        await ok('revoke', 'DELETE', `${members}/grants/${grantId}`);
      }],
      [2, 'disable or enable', (first) => ok('access', 'POST', `${members}/${first ? 'disable' : rng.pick(['disable', 'enable', 'enable'])}`)],
      [2, 'ban or unban', (first) => ok('ban', 'POST', `${members}/${first ? 'ban' : rng.pick(['ban', 'unban'])}`)],
      [1, 'approve or mark pending', () => ok('approval', 'POST', `${members}/${rng.pick(['approve', 'pending'])}`)],
      [1, 'change the custom role', () => ok('update role', 'PATCH', `/v1/orgs/${org.orgId}/roles/${customRole}`, { permissions: rng.some(['users.list.any', 'tickets.view.any', 'bookings.create.own', 'schedules.manage.location']) })],
      // The first time, past every expiry the opening grants can have.
      [2, 'time passes', async (first) => clock.advance(first ? 3 * HOUR + MINUTE : rng.int(30 * MINUTE, 3 * HOUR))],
    ];
    const total = actions.reduce((sum, [weight]) => sum + weight, 0);

    for (let step = 0; step < STEPS; step++) {
      clock.advance(rng.int(SECOND, 10 * MINUTE));
      let roll = rng.next() * total;
      const first = step < OPENING.length;
      const [, name, act] = first ? actions.find(([, n]) => n === OPENING[step])! : (actions.find(([weight]) => (roll -= weight) < 0) ?? actions[actions.length - 1]);
      await act(first);
      counts[name] = (counts[name] ?? 0) + 1;

      const at = clock().toISOString();
      const answer = await ok('capabilities', 'GET', `${members}/capabilities?at=${at}`);
      expect(answer).toMatchObject({ at, member: true });
      const checks = PERMISSIONS.flatMap((permission) => [undefined, ...locations].map((location) => ({ permission, location })));
      const live = await Promise.all(checks.map((check) => ok('authorize', 'POST', `/v1/orgs/${org.orgId}/authorize`, { principal: member, ...check })));
      checks.forEach((check, i) => {
        const expected = live[i].allowed ? { allowed: true, reason: live[i].reason } : { allowed: false };
        const context = `seed ${SEED}, step ${step} (${name}), ${check.permission}${check.location ? ` in ${check.location}` : ''}`;
        expect({ context, answer: answerOf(answer.permissions, check.permission, check.location) }).toEqual({ context, answer: expected });
      });
      snapshots.push({ at, answer, step: `${step} (${name})` });
    }

    // The same times asked about afterwards replay to what was live then; position aside,
    // since the expiry sweep may record PermissionExpired at the very millisecond of a step.
    for (const { at, answer, step } of snapshots) {
      const replayed = await ok('capabilities', 'GET', `${members}/capabilities?at=${at}`);
      expect({ step, ...replayed, position: undefined }).toEqual({ step, ...answer, position: undefined });
    }
    // A history worth the name: every kind of step happened, grants expired and some checks were allowed.
    expect(Object.keys(counts).length).toBe(actions.length);
    expect(snapshots.some(({ answer }) => (answer.permissions as Entry[]).some((e) => e.via === 'grant'))).toBe(true);
    expect(snapshots.some(({ answer }) => answer.status === 'disabled')).toBe(true);
    // Some grant expired inside the history, unrevoked, so the checks after it saw an expired grant.
    expect(expiring.some(({ grantId, expiresAt }) => !revoked.has(grantId) && expiresAt <= snapshots[snapshots.length - 1].at)).toBe(true);
    expect(snapshots.some(({ answer }) => answer.banned === true)).toBe(true);
  }, 240_000);
});
