import { fold, recordedAt, text, type Doc, type Reducers, type Workspace } from './projection';
import { USERS, type UserDoc } from './users';

/** An organization, as the orgs list (system admins), a person's orgs and emails show it. */
export interface OrgRow extends Doc {
  name: string;
  nameKey: string;
  preset: string;
  status: string;
  ownerId: string;
  partnerId: string;
  /** How many rows its members list has. */
  memberCount: number;
  createdAt: string;
}

export const ORGS = 'orgs';

async function updateOrg(docs: Workspace, orgId: string, change: (org: OrgRow) => Partial<OrgRow>): Promise<void> {
  const org = await docs.get<OrgRow>(ORGS, orgId);
  if (org) docs.put(ORGS, { ...org, ...change(org) });
}

/** Orgs: created, owner, status, and how many members they have. */
export const orgs: Reducers = {
  OrganizationCreated: (e, docs) => {
    const d = e.data;
    docs.put<OrgRow>(ORGS, { id: d.orgId, name: text(d.name), nameKey: fold(text(d.name)), preset: d.preset, status: 'active', ownerId: d.ownerId, partnerId: d.partnerId ?? '', memberCount: 0, createdAt: recordedAt(e) });
  },
  OwnershipTransferred: (e, docs) => updateOrg(docs, e.data.orgId, () => ({ ownerId: e.data.to })),
  OrganizationSuspended: (e, docs) => updateOrg(docs, e.data.orgId, () => ({ status: 'suspended' })),
  OrganizationReactivated: (e, docs) => updateOrg(docs, e.data.orgId, () => ({ status: 'active' })),
  OrganizationDeleted: (e, docs) => updateOrg(docs, e.data.orgId, () => ({ status: 'deleted' })),
  MemberAdded: async (e, docs) => {
    // Counted with its row: a member whose person is unknown gets none (see members.ts).
    if (!(await docs.get<UserDoc>(USERS, e.data.userId))) return;
    await updateOrg(docs, e.data.orgId, (org) => ({ memberCount: org.memberCount + 1 }));
  },
  MemberRemoved: (e, docs) => updateOrg(docs, e.data.orgId, (org) => ({ memberCount: Math.max(0, org.memberCount - 1) })),
};
