import type { GatehouseClient } from '../../src/client';

/**
 * A few calls through the generated client, the way the console makes them (issue 18). This file is
 * type-checked on its own by test/api/openapi-client.spec.ts: a path, a body or an answer's field that
 * the document does not have fails to compile.
 */
export async function createOrgAndListMembers(client: GatehouseClient, signIn: (token: string) => void, email: string) {
  const created = await client.POST('/v1/orgs', {
    body: { name: 'Typed Studio', preset: 'team', owner: { email, firstName: 'Tess', lastName: 'Typed', password: 'correct horse battery' } },
  });
  if (!created.data) throw new Error(`create org: ${created.response.status} ${created.error?.code}`);
  const { orgId, ownerId, token, position } = created.data;
  signIn(token);

  const invited = await client.POST('/v1/orgs/{org}/invitations', { params: { path: { org: orgId } }, body: { email: `guest-${email}`, role: 'member' } });
  if (!invited.data) throw new Error(`invite: ${invited.error?.code}`);

  // Read-your-writes (SPEC 3.1): the invitation's position as the next read's floor.
  const members = await client.GET('/v1/orgs/{org}/members', {
    params: { path: { org: orgId }, query: { sort: 'name', limit: 10 }, header: { 'Gatehouse-Min-Position': invited.data.position } },
  });
  if (!members.data) throw new Error(`list members: ${members.error?.code}`);
  const invitations = await client.GET('/v1/orgs/{org}/invitations', { params: { path: { org: orgId }, header: { 'Gatehouse-Min-Position': invited.data.position } } });

  const missing = await client.GET('/v1/orgs/{org}/members/{user}', { params: { path: { org: orgId, user: '00000000-0000-4000-8000-000000000000' } } });

  // @ts-expect-error an org needs its owner: the generated types refuse the call
  await client.POST('/v1/orgs', { body: { name: 'No owner' } }).catch(() => undefined);

  return {
    orgId,
    ownerId,
    position,
    memberEmails: members.data.items.map((member) => member.email),
    nextCursor: members.data.nextCursor,
    pendingEmails: (invitations.data?.items ?? []).map((invitation) => invitation.email),
    missing: { status: missing.response.status, code: missing.error?.code },
  };
}
