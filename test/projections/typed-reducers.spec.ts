import { join, relative } from 'node:path';
import * as ts from 'typescript';
import { PERMISSION_HISTORY } from '../../projections/permission-history';
import { projection, type Reducers } from '../../projections/projection';
import { eventLog, replay } from '../support/workspace';

/*
 * What this file proves happens at `npm run typecheck` (tsc over tsconfig.json,
 * which includes test/): each `@ts-expect-error` below marks a reducer the type
 * checker must refuse. Were any of them ever accepted, the directive would be
 * unused and the typecheck would fail on it. Jest does not type-check, so the
 * reducers also run here, showing what the refused code would have stored.
 */
describe('the type checker refuses a reducer that reads what its event does not carry', () => {
  it('R-ROLE-7 PermissionExpired carries expiredAt: a reducer reading expiresAt (the audit trail lost every expiry time so) does not compile', async () => {
    const misread: Reducers = {
      // @ts-expect-error PermissionExpired has no `expiresAt`: its data says `expiredAt`.
      PermissionExpired: (e, docs) => docs.put(PERMISSION_HISTORY, { id: e.eventId, kind: 'grant-expired', expiredAt: e.data.expiresAt }),
    };
    const log = eventLog();
    const expired = log.event('PermissionExpired', { orgId: 'org-acme', userId: 'u-ada', grantId: 'g1', permission: 'users.list.any', expiredAt: '2026-03-02T09:30:00.000Z' });
    const docs = await replay(projection('misread.v0', [PERMISSION_HISTORY], misread), [expired]);
    // Had it compiled: an expired grant without the time it expired.
    expect(docs.doc(PERMISSION_HISTORY, expired.eventId)).toEqual({ id: expired.eventId, kind: 'grant-expired', expiredAt: undefined });
  });

  it("a reducer reading another event's field does not compile: AccessDisabled says who and which member, not a role", () => {
    const misread: Reducers = {
      // @ts-expect-error AccessDisabled's data is { orgId, userId }: the role is RoleChanged's.
      AccessDisabled: (e, docs) => docs.put('members', { id: `${e.data.orgId}:${e.data.userId}`, roleId: e.data.roleId }),
    };
    expect(Object.keys(misread)).toEqual(['AccessDisabled']);
  });

  it('a reducer for an event type that is not in the vocabulary (a misspelt name) does not compile', () => {
    const misspelt: Reducers = {
      // @ts-expect-error "PermissionExpird" is no event type: the table's keys are the vocabulary's names.
      PermissionExpird: () => undefined,
    };
    expect(projection('misspelt.v0', [], misspelt).handles).toEqual([]);
  });

  it('tsconfig.json, which `npm run typecheck` checks, includes this file', () => {
    const root = join(__dirname, '..', '..');
    const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
    const files = ts.parseJsonConfigFileContent(config.config, ts.sys, root).fileNames.map((file) => relative(root, file));
    expect(files).toContain(relative(root, __filename));
  });
});
