import { membership, type MembershipEvent } from '../../domain/membership/membership';
import { given } from '../support/given';
import { anOrg, orgCtx, OWNER_ROLE_ID } from '../support/org';

const studio = anOrg('studio'); // uses door access
const team = anOrg('team'); // does not
const ids = { orgId: 'o1', userId: 'u-bob' };
const add = { type: 'AddMember' as const, ...ids, roleId: 'user', via: 'created' as const, codeCandidate: '480215' };
const added = (roleId = 'user'): MembershipEvent => ({ type: 'MemberAdded', data: { ...ids, roleId, locations: null, approval: 'approved', via: 'created' } });

describe('membership decider: door codes', () => {
  it('R-CODE-1 a member of an org that uses door access gets a generated code', () =>
    given(membership)
      .when(add, orgCtx(studio, 'u-owner', OWNER_ROLE_ID))
      .then([added(), { type: 'AccessCodeAssigned', data: { ...ids, code: '480215', generated: true } }]));

  it('R-CODE-1 a member of an org without door access gets none', () =>
    given(membership).when({ ...add, roleId: 'member' }, orgCtx(team, 'u-owner', OWNER_ROLE_ID)).then([added('member')]));

  it('R-CODE-1 R-CODE-2 the generated code follows the code rules', () =>
    given(membership).when({ ...add, codeCandidate: '123456' }, orgCtx(studio, 'u-owner', OWNER_ROLE_ID)).thenFails('accesscode_sequential'));

  it('R-CODE-1 the Owner of a door-access org gets one too', () => {
    const owner = { type: 'AddMember' as const, orgId: 'o1', userId: 'u-owner', roleId: OWNER_ROLE_ID, via: 'owner' as const, codeCandidate: '480215' };
    const events = membership.decide(membership.initialState(), owner, orgCtx(studio, 'u-owner', undefined));
    expect(events.map((e) => e.type)).toEqual(['MemberAdded', 'AccessCodeAssigned']);
  });

  it('R-CODE-2 a code of the admin\'s choice needs accesscodes.update.any, follows the rules, and replaces the old one', () => {
    const generated: MembershipEvent = { type: 'AccessCodeAssigned', data: { ...ids, code: '480215', generated: true } };
    const byOwner = orgCtx(studio, 'u-owner', OWNER_ROLE_ID);
    given(membership, added(), generated).when({ type: 'AssignAccessCode', code: '592046' }, byOwner).then([{ type: 'AccessCodeAssigned', data: { ...ids, code: '592046', previousCode: '480215', generated: false } }]);
    given(membership, added(), generated).when({ type: 'AssignAccessCode', code: '777777' }, byOwner).thenFails('accesscode_repeated');
    given(membership, added(), generated).when({ type: 'AssignAccessCode', code: '592046' }, orgCtx(studio, 'u-user', 'user')).thenFails('forbidden', { permission: 'accesscodes.update.any' });
    given(membership).when({ type: 'AssignAccessCode', code: '592046' }, byOwner).thenFails('not_found');
  });
});

describe('membership decider: editing a member', () => {
  it('an edit needs a member that exists, and users.update.any; unchanged notes record nothing', () => {
    const notes: MembershipEvent = { type: 'MemberNotesUpdated', data: { ...ids, notes: 'keys on Friday' } };
    given(membership).when({ type: 'UpdateNotes', notes: '' }, orgCtx(team, 'u-owner', OWNER_ROLE_ID)).thenFails('not_found');
    given(membership, added('member')).when({ type: 'UpdateNotes', notes: '' }, orgCtx(team, 'u-member', 'member')).thenFails('forbidden', { permission: 'users.update.any' });
    given(membership, added('member'), notes).when({ type: 'UpdateNotes', notes: 'keys on Friday' }, orgCtx(team, 'u-owner', OWNER_ROLE_ID)).then([]);
  });
});
