import { useEffect, useState, type FormEvent } from 'react';
import { api, explain, must, type Schemas } from './api';
import { Problem, useWrites } from './writes';

type Mode = Schemas['CreateMemberDto']['mode'];

/**
 * R-INV-1/2/3, R-CRT-1: invite someone, or create the account in one of the three
 * modes (a setup email, a temporary password shown once, a password set here), and
 * the pending invitations with resend and revoke.
 */
export function Invitations({ orgId, roles, mayInvite, mayCreate, onChanged }: { orgId: string; roles: Schemas['RoleDto'][]; mayInvite: boolean; mayCreate: boolean; onChanged: () => void }) {
  const [pending, setPending] = useState<Schemas['PendingInvitationDto'][]>([]);
  const [email, setEmail] = useState('');
  const [firstName, setFirstName] = useState('');
  const [lastName, setLastName] = useState('');
  const [role, setRole] = useState('');
  const [chosen, setMode] = useState<Mode | 'invite'>('invite');
  // Someone who may create but not invite starts at the first way they have.
  const mode: Mode | 'invite' = chosen === 'invite' && !mayInvite ? 'setup-email' : chosen;
  const [password, setPassword] = useState('');
  const [shownOnce, setShownOnce] = useState('');
  const [version, setVersion] = useState(0);
  const { error, setError, run } = useWrites(() => {
    setVersion((v) => v + 1);
    onChanged();
  });
  const org = { path: { org: orgId } };

  useEffect(() => {
    if (!mayInvite) return;
    must(api.GET('/v1/orgs/{org}/invitations', { params: org })).then((page) => setPending(page.items), (e) => setError(explain(e)));
  }, [orgId, mayInvite, version]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setShownOnce('');
    void run(async () => {
      if (mode === 'invite') {
        await must(api.POST('/v1/orgs/{org}/invitations', { params: org, body: { email, role: role || undefined, firstName: firstName || undefined, lastName: lastName || undefined } }));
      } else {
        const created = await must(api.POST('/v1/orgs/{org}/members', { params: org, body: { email, firstName, lastName: lastName || undefined, role: role || undefined, mode, password: mode === 'set-password' ? password : undefined } }));
        if (created.temporaryPassword) setShownOnce(created.temporaryPassword);
      }
      setEmail('');
      setFirstName('');
      setLastName('');
      setPassword('');
    });
  };

  if (!mayInvite && !mayCreate) return null;
  return (
    <section className="card panel">
      <h2>Add people</h2>
      <form className="inline" onSubmit={submit}>
        <select aria-label="How" value={mode} onChange={(e) => setMode(e.target.value as Mode | 'invite')}>
          {mayInvite && <option value="invite">Invite by email</option>}
          {mayCreate && <option value="setup-email">Create, send a setup email</option>}
          {mayCreate && <option value="temporary-password">Create with a temporary password</option>}
          {mayCreate && <option value="set-password">Create with a password</option>}
        </select>
        <input aria-label="Email" type="email" placeholder="Email" value={email} onChange={(e) => setEmail(e.target.value)} required />
        <input aria-label="First name" placeholder="First name" value={firstName} onChange={(e) => setFirstName(e.target.value)} required={mode !== 'invite'} />
        <input aria-label="Last name" placeholder="Last name" value={lastName} onChange={(e) => setLastName(e.target.value)} />
        <select aria-label="New member's role" value={role} onChange={(e) => setRole(e.target.value)}>
          <option value="">Default role</option>
          {roles.filter((r) => !r.owner && r.active).map((r) => (
            <option key={r.id} value={r.id}>
              {r.name}
            </option>
          ))}
        </select>
        {mode === 'set-password' && <input aria-label="Their password" type="password" placeholder="Password" value={password} onChange={(e) => setPassword(e.target.value)} required />}
        <button type="submit">{mode === 'invite' ? 'Invite' : 'Create'}</button>
      </form>
      {shownOnce && (
        <p className="once" role="status">
          Temporary password, shown this once: <code>{shownOnce}</code>
        </p>
      )}
      <Problem error={error} />
      {mayInvite && pending.length > 0 && (
        <table aria-label="Pending invitations">
          <tbody>
            {pending.map((inv) => (
              <tr key={inv.invitationId} data-invitation={inv.invitationId}>
                <td>{inv.email}</td>
                <td>{inv.role}</td>
                <td>{inv.expired ? 'expired' : `until ${new Date(inv.expiresAt).toLocaleString()}`}</td>
                <td>
                  <button className="secondary" onClick={() => void run(() => must(api.POST('/v1/orgs/{org}/invitations/{invitation}/resend', { params: { path: { org: orgId, invitation: inv.invitationId } } })))}>
                    Resend
                  </button>
                  <button className="secondary" onClick={() => void run(() => must(api.DELETE('/v1/orgs/{org}/invitations/{invitation}', { params: { path: { org: orgId, invitation: inv.invitationId } } })))}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
