import { can, type Grant, type MemberAccess } from '../../domain/access/access';
import { effectivePermissions } from '../../domain/access/effective';
import { PERMISSIONS } from '../../domain/access/permissions';
import { seededRandom } from '../support/random';

const SEED = Number(process.env.CAPABILITIES_SEED ?? 20261202);
const CASES = 1000;
const NOW = new Date('2026-07-01T12:00:00.000Z');

const random = seededRandom;

describe('R-AUD-2 effectivePermissions lists exactly what can() allows (domain/access/effective.ts, no HTTP)', () => {
  it(`R-AUD-2 R-ROLE-5 R-ROLE-6 R-ACC-1 R-ACC-4 R-ACC-5 ${CASES} random members: a check is allowed exactly when an entry has its permission and no location or its location, by the role exactly when a role entry does (seed ${SEED})`, () => {
    const rng = random(SEED);
    const orgLocations = ['north', 'south'];
    for (let n = 0; n < CASES; n++) {
      const grants: Grant[] = rng.some(PERMISSIONS, 0.08).map((permission, i) => ({
        grantId: `g${i}`,
        permission,
        ...(rng.next() < 0.3 ? { location: rng.pick([...orgLocations, 'gone']) } : {}),
        ...(rng.next() < 0.6 ? { expiresAt: new Date(NOW.getTime() + (rng.next() - 0.5) * 7_200_000).toISOString() } : {}),
        reason: 'random',
        grantedBy: 'owner',
        grantedAt: '2026-07-01T00:00:00.000Z',
      }));
      const access: MemberAccess = {
        userId: 'u',
        roleId: 'r',
        role: rng.next() < 0.1 ? undefined : { id: 'r', name: 'R', color: '#000000', description: '', permissions: rng.some(PERMISSIONS, 0.3), builtIn: false, active: true, owner: false },
        owner: false,
        locations: rng.next() < 0.5 ? null : rng.some(orgLocations).concat(rng.next() < 0.2 ? ['gone'] : []),
        status: rng.next() < 0.15 ? 'disabled' : 'active',
        approval: rng.next() < 0.2 ? 'pending' : 'approved',
        banned: rng.next() < 0.2,
        grants,
      };
      const entries = effectivePermissions(access, NOW, orgLocations);
      for (const permission of PERMISSIONS) {
        for (const location of [undefined, ...orgLocations, 'gone', 'never-named']) {
          const decision = can(access, permission, { now: NOW, location });
          const allowing = entries.filter((e) => e.permission === permission && (e.location === undefined || e.location === location));
          const listed = allowing.length === 0 ? { allowed: false } : { allowed: true, reason: allowing.some((e) => e.via === 'role') ? 'role' : 'grant' };
          const live = decision.allowed ? { allowed: true, reason: decision.reason } : { allowed: false };
          if (JSON.stringify(listed) !== JSON.stringify(live)) {
            throw new Error(`seed ${SEED}, case ${n}, ${permission} in ${location ?? 'the org'}: listed ${JSON.stringify(listed)}, can() ${JSON.stringify(live)}\n${JSON.stringify(access)}`);
          }
        }
      }
      // Each grant entry names a grant the member holds, unexpired, with its expiry.
      for (const entry of entries.filter((e) => e.via === 'grant')) {
        const grant = grants.find((g) => g.grantId === entry.grantId)!;
        expect(grant).toBeDefined();
        expect(entry.expiresAt).toBe(grant.expiresAt);
        expect(!grant.expiresAt || grant.expiresAt > NOW.toISOString()).toBe(true);
      }
    }
  });
});
