import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, explain, isApiError, must, session, type QueryOf, type Schemas } from './api';
import { MemberDetail } from './member-detail';
import { Invitations } from './invitations';
import { Account } from './account';
import { Audit } from './audit';
import { Roles } from './roles';
import { Settings } from './settings';
import { System } from './system';
import { QuickSearch } from './quick-search';

type Me = Schemas['MeDto'];
type Member = Schemas['MemberRowDto'];
type Role = Schemas['RoleDto'];
type Hit = Schemas['MemberHitDto'];
type SignedIn = Schemas['SignedInDto'];

/** The admin console: sign in, pick an org, work its members. */
export function Console() {
  const [signedIn, setSignedIn] = useState(!!session.token);
  const [me, setMe] = useState<Me | null>(null);
  const [orgId, setOrgId] = useState('');
  const [error, setError] = useState('');
  const [showAccount, setShowAccount] = useState(false);
  const [meVersion, setMeVersion] = useState(0);
  const [view, setView] = useState<View>('members');
  const [allowed, setAllowed] = useState<Allowed>({});

  // What the signed-in person may do in this org, as the server answers it: actions they may not take are not offered.
  const membership = me?.memberships.find((m) => m.orgId === orgId);
  // SPEC 5.7: a disabled member gets 403 access_disabled from every route of that org; the console does not ask them.
  const [refused, setRefused] = useState('');
  const disabledHere = membership?.status === 'disabled' || refused !== '';
  useEffect(() => {
    setRefused('');
    if (!orgId || !me || membership?.status === 'disabled') return;
    setAllowed({});
    const org = { path: { org: orgId } };
    // One question first: if the org refuses the person (disabled since /v1/me was read), the rest are not asked.
    const ask = (permission: string) => must(api.POST('/v1/orgs/{org}/authorize', { params: org, body: { principal: me.userId, permission } })).then((a) => [permission, a.allowed] as const);
    ask(PERMISSIONS[0])
      .then((first) => Promise.all(PERMISSIONS.slice(1).map(ask)).then((rest) => setAllowed(Object.fromEntries([first, ...rest]))))
      .catch((e) => (isApiError(e) && e.status === 403 ? setRefused(explain(e)) : setError(explain(e))));
  }, [orgId, me?.userId, membership?.status]);

  useEffect(() => {
    if (!signedIn) return;
    must(api.GET('/v1/me')).then(
      (answer) => {
        setMe(answer);
        setOrgId((current) => current || answer.memberships.find((m) => m.status === 'active')?.orgId || answer.memberships[0]?.orgId || '');
      },
      (e) => {
        if (isApiError(e) && e.status === 401) signOut();
        else setError(explain(e));
      },
    );
  }, [signedIn, meVersion]);

  const signOut = () => {
    session.set(null);
    setMe(null);
    setSignedIn(false);
  };

  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
  if (!me) return <main className="card narrow">{error ? <p role="alert" className="error">{error}</p> : 'Loading…'}</main>;
  return (
    <div className="shell">
      <header>
        <strong>Gatehouse</strong>
        <select aria-label="Organization" value={orgId} onChange={(e) => setOrgId(e.target.value)}>
          {me.memberships.map((m) => (
            <option key={m.orgId} value={m.orgId}>
              {m.orgName ?? m.orgId}
            </option>
          ))}
        </select>
        <button className="who secondary" onClick={() => setShowAccount(!showAccount)}>
          My account
        </button>
        <button className="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      {showAccount && <Account me={me} onChanged={() => setMeVersion((v) => v + 1)} />}
      <nav className="tabs views">
        {VIEWS.filter(([, , needs]) => (needs === 'system' ? !!me?.systemAdmin : !disabledHere && (!needs || allowed[needs]))).map(([id, label]) => (
          <button key={id} className={id === view ? '' : 'secondary'} onClick={() => setView(id)}>
            {label}
          </button>
        ))}
      </nav>
      {view === 'system' ? (
        <System />
      ) : disabledHere ? (
        <main role="alert" className="error">
          Your access to {membership?.orgName ?? 'this organization'} is disabled: its admins can enable it again. {refused}
        </main>
      ) : !orgId ? (
        <p>You are a member of no organization.</p>
      ) : view === 'roles' ? (
        <Roles key={orgId} orgId={orgId} mayManage={allowed['roles.manage.any'] === true} />
      ) : view === 'audit' ? (
        <Audit key={orgId} orgId={orgId} />
      ) : view === 'settings' ? (
        <Settings key={orgId} orgId={orgId} isOwner={me.memberships.some((m) => m.orgId === orgId && m.role === 'owner')} />
      ) : (
        <Members key={orgId} orgId={orgId} me={me} allowed={allowed} />
      )}
    </div>
  );
}

/** R-CRED-1, R-CRED-8: email or username with a password, then the TOTP or backup code when asked. */
function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [challenge, setChallenge] = useState('');
  const [code, setCode] = useState('');
  const [error, setError] = useState('');
  const done = (answer: SignedIn) => {
    session.set(answer.token);
    onSignedIn();
  };
  const [sent, setSent] = useState(false);
  // R-CRED-6: the same answer whether or not the email has an account (R-SEC-3).
  const emailLink = async () => {
    setError('');
    try {
      await must(api.POST('/v1/magic-links', { body: { email: name } }));
      setSent(true);
    } catch (err) {
      setError(explain(err));
    }
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    try {
      if (challenge) return done(await must(api.POST('/v1/sessions/mfa', { body: { challenge, code } })));
      const body = name.includes('@') ? { email: name, password } : { username: name, password };
      const answer = await must(api.POST('/v1/sessions', { body }));
      if ('mfaRequired' in answer) setChallenge(answer.challenge);
      else done(answer);
    } catch (err) {
      setError(explain(err));
    }
  };
  return (
    <main className="card narrow">
      <h1>Sign in</h1>
      <form onSubmit={submit}>
        {challenge ? (
          <label>
            Code from your authenticator, or a backup code <input value={code} onChange={(e) => setCode(e.target.value)} autoComplete="one-time-code" autoFocus />
          </label>
        ) : (
          <>
            <label>
              Email or username <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="username" autoFocus />
            </label>
            <label>
              Password <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" />
            </label>
          </>
        )}
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit">{challenge ? 'Verify' : 'Sign in'}</button>
        {!challenge && (
          <button type="button" className="secondary" onClick={() => void emailLink()}>
            Email me a sign-in link
          </button>
        )}
        {sent && <p role="status">If that email has an account, a sign-in link is on its way.</p>}
      </form>
    </main>
  );
}

/** What the signed-in person may do here, as the server answers it: actions they may not take are not offered. */
const PERMISSIONS = ['users.list.any', 'users.disable.any', 'users.approve.any', 'users.ban.any', 'users.delete.any', 'users.update.any', 'accesscodes.update.any', 'roles.assign.any', 'roles.manage.any', 'members.invite.any', 'users.create.any', 'users.credentials.any', 'users.resend-setup.any', 'permissions.grant.any', 'audit.read.any', 'org.manage.any'] as const;
type Allowed = Partial<Record<string, boolean>>;
type View = 'members' | 'roles' | 'audit' | 'settings' | 'system';
/** The console's views, and what each needs: a permission in the org, or being a system admin. */
const VIEWS: Array<[View, string, string | undefined]> = [
  ['members', 'Members', undefined],
  ['roles', 'Roles', undefined],
  ['audit', 'Audit', 'audit.read.any'],
  ['settings', 'Settings', 'org.manage.any'],
  ['system', 'System', 'system'],
];

type MemberQuery = QueryOf<'/v1/orgs/{org}/members'>;
interface Filters {
  q: string;
  role: string;
  status: NonNullable<MemberQuery['status']> | '';
  approval: NonNullable<MemberQuery['approval']> | '';
  sort: NonNullable<MemberQuery['sort']>;
}
const NO_FILTERS: Filters = { q: '', role: '', status: '', approval: '', sort: 'name' };

/** R-LIST-2: the members list with its filters, sort and cursor paging; row actions (R-ACC-1, R-ROLE-1). */
function Members({ orgId, me, allowed }: { orgId: string; me: Me; allowed: Allowed }) {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [cursors, setCursors] = useState<string[]>([]);
  const [page, setPage] = useState<Schemas['MemberPageDto'] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [roles, setRoles] = useState<Role[]>([]);
  const [error, setError] = useState('');
  const [version, setVersion] = useState(0);
  const org = { path: { org: orgId } };

  // Only once the server has said the person may list members: otherwise the list is never asked for.
  const mayList = allowed['users.list.any'] === true;
  useEffect(() => {
    if (mayList) must(api.GET('/v1/orgs/{org}/roles', { params: org })).then((r) => setRoles(r.items), (e) => setError(explain(e)));
  }, [orgId, mayList]);

  const iAmOwner = me.memberships.some((m) => m.orgId === orgId && m.role === 'owner');
  const mayGiveRoles = allowed['roles.assign.any'] === true || allowed['members.invite.any'] === true || allowed['users.create.any'] === true;
  const [held, setHeld] = useState<Set<string> | null>(null);
  useEffect(() => {
    if (iAmOwner || !mayGiveRoles || roles.length === 0) return;
    const wanted = [...new Set(roles.filter((r) => !r.owner && r.active).flatMap((r) => r.permissions))];
    const ask = (permission: string) => must(api.POST('/v1/orgs/{org}/authorize', { params: org, body: { principal: me.userId, permission } })).then((a) => (a.allowed ? permission : ''));
    Promise.all(wanted.map(ask)).then((answers) => setHeld(new Set(answers.filter(Boolean))), (e) => setError(explain(e)));
  }, [orgId, roles, iAmOwner, mayGiveRoles]);

  const load = useCallback(() => {
    if (!mayList) return;
    const { q, role, status, approval, sort } = filters;
    const query = { limit: 20, sort, q: q || undefined, role: role || undefined, status: status || undefined, approval: approval || undefined, cursor: cursors[cursors.length - 1] };
    must(api.GET('/v1/orgs/{org}/members', { params: { ...org, query } })).then(
      (answer) => {
        setPage(answer);
        setError('');
      },
      (e) => setError(explain(e)),
    );
  }, [orgId, filters, cursors, version, mayList]);
  useEffect(load, [load]);

  const filter = <K extends keyof Filters>(key: K, value: Filters[K]) => {
    setFilters({ ...filters, [key]: value });
    setCursors([]);
  };
  const act = async (write: Promise<unknown>) => {
    try {
      await write;
      setVersion((v) => v + 1); // read again, after the write's position
    } catch (e) {
      setError(explain(e));
    }
  };
  const member = (user: string) => ({ params: { path: { org: orgId, user } } });
  const roleName = (id: string) => roles.find((r) => r.id === id)?.name ?? id;
  const isOwner = (m: Member) => roles.some((r) => r.id === m.roleId && r.owner);
  // R-ROLE-1, R-ROLE-4: the Owner role is never offered, nor an inactive custom role; R-ROLE-2: nor one
  // carrying a permission the person does not hold (asked of the server; the Owner holds them all).
  const assignable = roles.filter((r) => !r.owner && r.active && (iAmOwner || (held !== null && r.permissions.every((p) => held.has(p)))));
  // Nobody acts on themselves or on the Owner (R-ACC-2, R-ROLE-3): those rows offer nothing.
  const actionable = (m: Member) => m.userId !== me.userId && !isOwner(m);
  const [removing, setRemoving] = useState<string | null>(null);

  const reload = () => setVersion((v) => v + 1);
  const may = (permission: string) => allowed[permission] === true;
  if (allowed['users.list.any'] === undefined) return <main>Loading…</main>;
  if (!mayList) return <main>You are a member here; managing its people is for its admins.</main>;
  return (
    <main>
      <QuickSearch orgId={orgId} onPick={(hit: Hit) => filter('q', hit.email)} />
      <h1>Members</h1>
      <Invitations orgId={orgId} roles={assignable} mayInvite={may('members.invite.any')} mayCreate={may('users.create.any')} onChanged={reload} />
      {open && <MemberDetail key={open} orgId={orgId} userId={open} may={may} reaches={(roleId) => iAmOwner || assignable.some((r) => r.id === roleId)} roles={allowed['roles.assign.any'] && open !== me.userId ? assignable : []} onClose={() => setOpen(null)} onChanged={reload} />}
      <div className="filters">
        <input aria-label="Search" placeholder="Name or email" value={filters.q} onChange={(e) => filter('q', e.target.value)} />
        <select aria-label="Role" value={filters.role} onChange={(e) => filter('role', e.target.value)}>
          <option value="">Any role</option>
          {roles.map((r) => (
            <option key={r.id} value={r.id}>
              {r.name}
            </option>
          ))}
        </select>
        <select aria-label="Status" value={filters.status} onChange={(e) => filter('status', e.target.value as Filters['status'])}>
          <option value="">Any status</option>
          <option value="active">Active</option>
          <option value="disabled">Disabled</option>
        </select>
        <select aria-label="Approval" value={filters.approval} onChange={(e) => filter('approval', e.target.value as Filters['approval'])}>
          <option value="">Any approval</option>
          <option value="approved">Approved</option>
          <option value="pending">Pending</option>
        </select>
        <select aria-label="Sort" value={filters.sort} onChange={(e) => filter('sort', e.target.value as Filters['sort'])}>
          <option value="name">Name A–Z</option>
          <option value="-name">Name Z–A</option>
          <option value="-joined">Newest</option>
          <option value="joined">Oldest</option>
          <option value="-lastSignIn">Last sign-in</option>
        </select>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Email</th>
            <th>Role</th>
            <th>Status</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((m) => (
            <tr key={m.userId} data-user={m.userId}>
              <td>
                <button className="link" onClick={() => setOpen(m.userId)}>
                  {m.firstName} {m.lastName}
                </button>
              </td>
              <td>{m.email}</td>
              <td>
                {allowed['roles.assign.any'] && actionable(m) ? (
                  <select aria-label={`Role of ${m.email}`} value={m.roleId} onChange={(e) => void act(must(api.PUT('/v1/orgs/{org}/members/{user}/role', { ...member(m.userId), body: { role: e.target.value } })))}>
                    {assignable.some((r) => r.id === m.roleId) ? null : <option value={m.roleId}>{roleName(m.roleId)}</option>}
                    {assignable.map((r) => (
                      <option key={r.id} value={r.id}>
                        {r.name}
                      </option>
                    ))}
                  </select>
                ) : (
                  roleName(m.roleId)
                )}
              </td>
              <td className="status">{[m.status, m.approval === 'pending' ? 'pending' : '', m.banned ? 'banned' : ''].filter(Boolean).join(', ')}</td>
              <td>
                {allowed['users.approve.any'] && m.approval === 'pending' && <button onClick={() => void act(must(api.POST('/v1/orgs/{org}/members/{user}/approve', member(m.userId))))}>Approve</button>}
                {allowed['users.disable.any'] && actionable(m) && (m.status === 'active' ? <button onClick={() => void act(must(api.POST('/v1/orgs/{org}/members/{user}/disable', member(m.userId))))}>Disable</button> : <button onClick={() => void act(must(api.POST('/v1/orgs/{org}/members/{user}/enable', member(m.userId))))}>Enable</button>)}
                {allowed['users.ban.any'] && actionable(m) && (m.banned ? <button className="secondary" onClick={() => void act(must(api.POST('/v1/orgs/{org}/members/{user}/unban', member(m.userId))))}>Unban</button> : <button className="secondary" onClick={() => void act(must(api.POST('/v1/orgs/{org}/members/{user}/ban', member(m.userId))))}>Ban</button>)}
                {allowed['users.delete.any'] && actionable(m) &&
                  (removing === m.userId ? (
                    <>
                      <button className="danger" onClick={() => void act(must(api.DELETE('/v1/orgs/{org}/members/{user}', member(m.userId)))).then(() => setRemoving(null))}>
                        Confirm removal
                      </button>
                      <button className="secondary" onClick={() => setRemoving(null)}>
                        Keep
                      </button>
                    </>
                  ) : (
                    <button className="secondary" onClick={() => setRemoving(m.userId)}>
                      Remove
                    </button>
                  ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav className="pager">
        <button className="secondary" disabled={cursors.length === 0} onClick={() => setCursors([])}>
          First page
        </button>
        <button className="secondary" disabled={!page?.nextCursor} onClick={() => page?.nextCursor && setCursors([...cursors, page.nextCursor])}>
          Next page
        </button>
      </nav>
    </main>
  );
}
