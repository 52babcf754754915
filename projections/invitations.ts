import { recordedAt, type Doc, type Reducers, type Workspace } from './projection';

/** An invitation of an org, for its pending-invitations list. */
export interface InvitationRow extends Doc {
  orgId: string;
  invitationId: string;
  email: string;
  roleId: string;
  invitedBy: string;
  invitedAt: string;
  expiresAt: string;
  status: 'pending' | 'accepted' | 'revoked';
}

export const INVITATIONS = 'invitations';

/** An invitation's row: invitation ids are unique within their org. */
export const invitationRowId = (orgId: string, invitationId: string) => `${orgId}:${invitationId}`;

async function updateInvitation(docs: Workspace, orgId: string, invitationId: string, change: Partial<InvitationRow>): Promise<void> {
  const row = await docs.get<InvitationRow>(INVITATIONS, invitationRowId(orgId, invitationId));
  if (row) docs.put(INVITATIONS, { ...row, ...change });
}

/** Invitations: sent, resent (a new expiry), revoked, accepted. */
export const invitations: Reducers = {
  UserInvited: (e, docs) => {
    const d = e.data;
    docs.put<InvitationRow>(INVITATIONS, { id: invitationRowId(d.orgId, d.invitationId), orgId: d.orgId, invitationId: d.invitationId, email: d.email, roleId: d.roleId, invitedBy: d.invitedBy, invitedAt: recordedAt(e), expiresAt: d.expiresAt, status: 'pending' });
  },
  InvitationResent: (e, docs) => updateInvitation(docs, e.data.orgId, e.data.invitationId, { expiresAt: e.data.expiresAt }),
  InvitationRevoked: (e, docs) => updateInvitation(docs, e.data.orgId, e.data.invitationId, { status: 'revoked' }),
  InvitationAccepted: (e, docs) => updateInvitation(docs, e.data.orgId, e.data.invitationId, { status: 'accepted' }),
  // SPEC 5.3: a deleted org keeps no invitee's address.
  OrganizationDeleted: async (e, docs) => {
    for (const id of await docs.idsWhere(INVITATIONS, 'orgId', e.data.orgId)) docs.delete(INVITATIONS, id);
  },
};
