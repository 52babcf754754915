import { useEffect, useState, type FormEvent } from 'react';
import { api, explain, must, type Schemas } from './api';
import { Problem, useWrites } from './writes';

type Tab = 'profile' | 'security' | 'activity' | 'history' | 'codes' | 'preferences';
/** What each tab needs beyond users.list.any, as the server checks it. */
const NEEDS: Partial<Record<Tab, string>> = { activity: 'audit.read.any', history: 'audit.read.any', preferences: 'users.update.any' };
const TAB_NAMES: Record<Tab, string> = { profile: 'Profile', security: 'Security', activity: 'Activity', history: 'Permission history', codes: 'Access codes', preferences: 'Preferences' };

/**
 * R-LIST-4: a member's detail — profile, security (role, grants, credentials, sessions), login activity,
 * permission history, access code (R-CODE) and, for those with users.update.any, their marketing consent (read-only, R-PREF-4).
 */
export function MemberDetail({ orgId, userId, may, reaches, roles, onClose, onChanged }: { orgId: string; userId: string; may: (permission: string) => boolean; reaches: (roleId: string) => boolean; roles: Schemas['RoleDto'][]; onClose: () => void; onChanged: () => void }) {
  const [tab, setTab] = useState<Tab>('profile');
  const [member, setMember] = useState<Schemas['MemberDetailDto'] | null>(null);
  const [activity, setActivity] = useState<Schemas['LoginAttemptDto'][]>([]);
  const [history, setHistory] = useState<Schemas['PermissionHistoryEntryDto'][]>([]);
  const [preferences, setPreferences] = useState<Schemas['MemberPreferencesDto'] | null>(null);
  const [shownOnce, setShownOnce] = useState('');
  const [notice, setNotice] = useState('');
  const [version, setVersion] = useState(0);
  const { error, setError, run } = useWrites(() => {
    setVersion((v) => v + 1);
    onChanged();
  });
  const params = { params: { path: { org: orgId, user: userId } } };

  useEffect(() => {
    must(api.GET('/v1/orgs/{org}/members/{user}', params)).then(setMember, (e) => setError(explain(e)));
    // Login activity and permission history are the audit's (audit.read.any): not asked for, nor offered, without it.
    if (may('audit.read.any')) {
      must(api.GET('/v1/orgs/{org}/members/{user}/login-activity', params)).then((p) => setActivity(p.items), (e) => setError(explain(e)));
      must(api.GET('/v1/orgs/{org}/members/{user}/permission-history', params)).then((p) => setHistory(p.items), (e) => setError(explain(e)));
    }
  }, [orgId, userId, version]);
  useEffect(() => {
    if (tab === 'preferences' && may('users.update.any')) must(api.GET('/v1/orgs/{org}/members/{user}/preferences', params)).then(setPreferences, (e) => setError(explain(e)));
  }, [orgId, userId, tab]);


  if (!member) return <aside className="card drawer">{error || 'Loading…'}</aside>;
  return (
    <aside className="card drawer" aria-label="Member detail">
      <header>
        <h2>
          {member.firstName} {member.lastName}
        </h2>
        {/* Focus moves into the drawer when it opens, so the keyboard goes on from there. */}
        <button className="secondary" onClick={onClose} autoFocus>
          Close
        </button>
      </header>
      <nav className="tabs">
        {(Object.keys(TAB_NAMES) as Tab[])
          .filter((t) => NEEDS[t] === undefined || may(NEEDS[t]))
          .map((t) => (
            <button key={t} className={t === tab ? '' : 'secondary'} onClick={() => setTab(t)}>
              {TAB_NAMES[t]}
            </button>
          ))}
      </nav>
      <Problem error={error} />
      {tab === 'profile' && member.status === 'disabled' && (
        <p className="banner">
          Access disabled{member.disabledAt ? ` on ${new Date(member.disabledAt).toLocaleString()}` : ''}
          {member.disabledBy ? ` by ${member.disabledBy}` : ''}.
        </p>
      )}
      {tab === 'profile' && (
        <dl>
          <dt>Email</dt>
          <dd>{member.email}</dd>
          <dt>Phone</dt>
          <dd>{member.phone ?? '—'}</dd>
          <dt>Status</dt>
          <dd>{[member.status, member.approval, member.banned ? 'banned' : ''].filter(Boolean).join(', ')}</dd>
          <dt>Joined</dt>
          <dd>{member.joinedAt ? new Date(member.joinedAt).toLocaleString() : '—'}</dd>
          <dt>Invited</dt>
          <dd>{member.invitedAt ? new Date(member.invitedAt).toLocaleString() : '—'}</dd>
          <dt>Last sign-in</dt>
          <dd>{member.lastSignInAt ? `${new Date(member.lastSignInAt).toLocaleString()} (${member.lastSignInMethod})` : 'never'}</dd>
          {member.accessCode && (
            <>
              <dt>Door code</dt>
              <dd>{member.accessCode}</dd>
            </>
          )}
          {member.notes && (
            <>
              <dt>Notes</dt>
              <dd>{member.notes}</dd>
            </>
          )}
        </dl>
      )}
      {/* Seed 001: the Owner's profile is edited only by the Owner (reaches('owner') holds only for them). */}
      {tab === 'profile' && may('users.update.any') && reaches(member.role) && <EditProfile key={version} member={member} onSave={(body) => run(() => must(api.PATCH('/v1/orgs/{org}/members/{user}', { ...params, body })))} />}
      {tab === 'security' && (
        <div>
          <p>
            Role <strong>{member.role}</strong>
            {member.locations ? ` at ${member.locations.join(', ')}` : ', across the org'} · MFA {member.mfaEnabled ? 'on' : 'off'}
          </p>
          {/* Seed 001: the role changed from the detail too; the roles offered are those the person may give (the Owner never). */}
          {roles.length > 0 && !member.owner && reaches(member.role) && <ChangeRole current={member.role} roles={roles} onChange={(role) => run(() => must(api.PUT('/v1/orgs/{org}/members/{user}/role', { ...params, body: { role } })))} />}
          {/* Credentials: over a member whose role the person could assign, never the Owner (R-ROLE-2, R-SEC-4). */}
          {(may('users.credentials.any') || may('users.resend-setup.any')) && !member.owner && reaches(member.role) && (
            <p>
              <button className="secondary" onClick={() => void run(() => must(api.POST('/v1/orgs/{org}/members/{user}/setup-link', params))).then((sent) => sent && setNotice(`A setup email is on its way to ${member.email}.`))}>
                Resend setup email
              </button>
            </p>
          )}
          {may('users.credentials.any') && !member.owner && reaches(member.role) && (
            <p>
              <button className="secondary" onClick={() => void run(() => must(api.POST('/v1/orgs/{org}/members/{user}/password-reset', params))).then((sent) => sent && setNotice(`A password reset email is on its way to ${member.email}; you get a copy.`))}>
                Email a password reset
              </button>
              <button className="secondary" onClick={() => void run(async () => setShownOnce((await must(api.POST('/v1/orgs/{org}/members/{user}/temporary-password', params))).temporaryPassword))}>
                Temporary password
              </button>
              {member.mfaEnabled && (
                <button className="secondary" onClick={() => void run(() => must(api.POST('/v1/orgs/{org}/members/{user}/mfa-reset', params)))}>
                  Reset MFA
                </button>
              )}
            </p>
          )}
          {notice && <p role="status">{notice}</p>}
          {shownOnce && (
            <p className="once" role="status">
              Temporary password, shown this once: <code>{shownOnce}</code>
            </p>
          )}
          <h3>Grants</h3>
          <ul>
            {member.grants.map((g) => (
              <li key={g.grantId}>
                {g.permission}
                {g.location ? ` at ${g.location}` : ''} — {g.reason}
                {g.expiresAt ? ` (until ${new Date(g.expiresAt).toLocaleString()}${g.expired ? ', expired' : ''})` : ''}
                <small>
                  {' '}
                  · given {new Date(g.grantedAt).toLocaleString()} by {g.grantedBy}
                </small>
                {may('permissions.grant.any') && !g.expired && (
                  <button className="secondary" onClick={() => void run(() => must(api.DELETE('/v1/orgs/{org}/members/{user}/grants/{grant}', { params: { path: { org: orgId, user: userId, grant: g.grantId } } })))}>
                    Revoke
                  </button>
                )}
              </li>
            ))}
          </ul>
          {may('permissions.grant.any') && <GrantForm onGrant={(body) => run(() => must(api.POST('/v1/orgs/{org}/members/{user}/grants', { ...params, body })))} />}
          <h3>Sessions</h3>
          <ul>
            {member.sessions.map((s) => (
              <li key={s.sessionId}>
                {s.method}, since {new Date(s.startedAt).toLocaleString()}
              </li>
            ))}
          </ul>
        </div>
      )}
      {tab === 'activity' && (
        <table aria-label="Login activity">
          <tbody>
            {activity.map((a, i) => (
              <tr key={i}>
                <td>{a.success ? 'signed in' : `failed: ${a.failureReason ?? ''}`}</td>
                <td>{a.ip}</td>
                <td>{a.userAgent}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {tab === 'codes' && <AccessCode code={member.accessCode} mayEdit={may('accesscodes.update.any')} onSave={(code) => run(() => must(api.PUT('/v1/orgs/{org}/members/{user}/access-code', { ...params, body: { code } })))} />}
      {tab === 'preferences' && preferences && (
        <section aria-label="Preferences">
          <p>Read-only: only the person changes these (R-PREF-4).</p>
          <dl>
            <dt>Marketing email</dt>
            <dd>{preferences.emailMarketing ? 'subscribed' : 'unsubscribed'}</dd>
            <dt>Marketing SMS</dt>
            <dd>{preferences.smsMarketing ? 'subscribed' : 'not subscribed'}</dd>
          </dl>
          <table aria-label="Consent log">
            <tbody>
              {preferences.log.map((entry, i) => (
                <tr key={i}>
                  <td>{new Date(entry.at).toLocaleString()}</td>
                  <td>{entry.channel}</td>
                  <td>{entry.subscribed ? 'subscribed' : 'unsubscribed'}</td>
                  <td>{entry.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {tab === 'history' && (
        <ul aria-label="Permission history">
          {history.map((h) => (
            <li key={h.id}>
              {h.kind}: {h.roleId ?? h.permission ?? ''}
              {h.previousRoleId ? ` (was ${h.previousRoleId})` : ''}
              {h.expiresAt ? `, until ${new Date(h.expiresAt).toLocaleString()}` : ''}
              {h.expiredAt ? `, ended ${new Date(h.expiredAt).toLocaleString()}` : ''}
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}

/** R-ROLE-4: a permission given to one person, for a reason, optionally until a time. */
function GrantForm({ onGrant }: { onGrant: (body: Schemas['GrantDto']) => Promise<boolean> }) {
  const [permission, setPermission] = useState('');
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void onGrant({ permission, reason, expiresAt: until ? new Date(until).toISOString() : undefined }).then((granted) => {
      if (!granted) return;
      setPermission('');
      setReason('');
      setUntil('');
    });
  };
  return (
    <form className="inline" onSubmit={submit}>
      <input aria-label="Permission" placeholder="permission, e.g. credits.adjust.any" value={permission} onChange={(e) => setPermission(e.target.value)} required />
      <input aria-label="Reason" placeholder="Reason" value={reason} onChange={(e) => setReason(e.target.value)} required />
      <input aria-label="Until" type="datetime-local" step="1" value={until} onChange={(e) => setUntil(e.target.value)} />
      <button type="submit">Grant</button>
    </form>
  );
}

/** R-CODE-1/2: the member's door code, and a custom one set here (6 digits, no runs, not one digit repeated: the server says which rule). */
function AccessCode({ code, mayEdit, onSave }: { code?: string; mayEdit: boolean; onSave: (code: string) => Promise<boolean> }) {
  const [custom, setCustom] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void onSave(custom).then((saved) => saved && setCustom(''));
  };
  return (
    <section aria-label="Access codes">
      <p>
        Door code: <strong className="code">{code ?? 'none yet'}</strong>
      </p>
      {mayEdit && (
        <form className="inline" onSubmit={submit}>
          <input aria-label="Custom code" inputMode="numeric" placeholder="6 digits" value={custom} onChange={(e) => setCustom(e.target.value.trim())} required />
          <button type="submit">Set custom code</button>
        </form>
      )}
    </section>
  );
}

function ChangeRole({ current, roles, onChange }: { current: string; roles: Schemas['RoleDto'][]; onChange: (role: string) => Promise<boolean> }) {
  const [role, setRole] = useState(current);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void onChange(role);
  };
  return (
    <form className="inline" onSubmit={submit}>
      <select aria-label="Change role" value={role} onChange={(e) => setRole(e.target.value)}>
        {roles.some((r) => r.id === current) ? null : <option value={current}>{current}</option>}
        {roles.map((r) => (
          <option key={r.id} value={r.id}>
            {r.name}
          </option>
        ))}
      </select>
      <button type="submit" disabled={role === current}>
        Update
      </button>
    </form>
  );
}

/** Seed 000 and 001: name, email, phone and internal notes; only what changed is sent. */
function EditProfile({ member, onSave }: { member: Schemas['MemberDetailDto']; onSave: (body: Schemas['UpdateMemberDto']) => Promise<boolean> }) {
  const [editing, setEditing] = useState(false);
  const [form, setForm] = useState({ firstName: member.firstName, lastName: member.lastName, email: member.email, phone: member.phone ?? '', notes: member.notes });
  const field = (key: keyof typeof form, label: string, type = 'text') => (
    <label>
      {label} <input type={type} value={form[key]} onChange={(e) => setForm({ ...form, [key]: e.target.value })} />
    </label>
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const before = { firstName: member.firstName, lastName: member.lastName, email: member.email, phone: member.phone ?? '', notes: member.notes };
    const changed = Object.fromEntries(Object.entries(form).filter(([key, value]) => value !== before[key as keyof typeof before]));
    void onSave(changed).then((saved) => saved && setEditing(false));
  };
  if (!editing)
    return (
      <button className="secondary" onClick={() => setEditing(true)}>
        Edit profile
      </button>
    );
  return (
    <form onSubmit={submit} aria-label="Edit profile">
      {field('firstName', 'First name')}
      {field('lastName', 'Last name')}
      {field('email', 'Email', 'email')}
      {field('phone', 'Phone (+E.164)', 'tel')}
      <label>
        Notes (admins only) <textarea value={form.notes} onChange={(e) => setForm({ ...form, notes: e.target.value })} />
      </label>
      <p>
        <button type="submit">Save profile</button>
        <button type="button" className="secondary" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </p>
    </form>
  );
}
