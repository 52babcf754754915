import { useEffect, useState, type FormEvent, type ReactElement } from 'react';
import { api, explain, must, session } from './api';

/** The page behind an emailed link, or null for the console itself. */
export function publicPage(path: string, query: URLSearchParams): ReactElement | null {
  const token = query.get('token') ?? '';
  switch (path.replace(/\/+$/, '')) {
    case '/invitations/accept':
      return <AcceptInvitation token={token} />;
    case '/setup':
      return <ChoosePassword token={token} title="Set up your account" />;
    case '/reset-password':
      return <ChoosePassword token={token} title="Choose a new password" />;
    case '/sign-in':
      return token ? <RedeemMagicLink token={token} /> : null;
    case '/v1/unsubscribe':
      return <Unsubscribe token={token} />;
    default:
      return null;
  }
}

function toConsole(signedIn: { token: string }): void {
  session.set(signedIn.token);
  location.assign('/console/');
}

function Card({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <main className="card narrow">
      <h1>{title}</h1>
      {children}
    </main>
  );
}

function Problem({ error }: { error: string }) {
  return error ? <p role="alert" className="error">{error}</p> : null;
}

/** R-INV-1, SPEC 5.7: accept with a password, or without one (sign in later by magic link). */
function AcceptInvitation({ token }: { token: string }) {
  const [password, setPassword] = useState('');
  const [firstName, setFirstName] = useState('');
  const [lastName, setLastName] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const accept = async (withPassword: boolean) => {
    setBusy(true);
    setError('');
    try {
      const body = { token, ...(withPassword ? { password } : {}), ...(firstName ? { firstName } : {}), ...(lastName ? { lastName } : {}) };
      toConsole(await must(api.POST('/v1/invitations/accept', { body })));
    } catch (e) {
      setError(explain(e));
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void accept(true);
  };
  return (
    <Card title="Accept your invitation">
      <form onSubmit={submit}>
        <label>
          First name <input value={firstName} onChange={(e) => setFirstName(e.target.value)} autoComplete="given-name" />
        </label>
        <label>
          Last name <input value={lastName} onChange={(e) => setLastName(e.target.value)} autoComplete="family-name" />
        </label>
        <label>
          Password <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
        </label>
        <Problem error={error} />
        <button type="submit" disabled={busy || !password}>
          Accept and set password
        </button>
        <button type="button" className="secondary" disabled={busy} onClick={() => void accept(false)}>
          Accept without a password
        </button>
      </form>
    </Card>
  );
}

/** R-CRT-1 (a), R-CRED-3: a setup or reset link sets the password and signs in. */
function ChoosePassword({ token, title }: { token: string; title: string }) {
  const [newPassword, setNewPassword] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    try {
      toConsole(await must(api.POST('/v1/password-resets/redeem', { body: { token, newPassword } })));
    } catch (err) {
      setError(explain(err));
    }
  };
  return (
    <Card title={title}>
      <form onSubmit={submit}>
        <label>
          New password <input type="password" value={newPassword} onChange={(e) => setNewPassword(e.target.value)} autoComplete="new-password" />
        </label>
        <Problem error={error} />
        <button type="submit" disabled={!newPassword}>
          Save password
        </button>
      </form>
    </Card>
  );
}

/** R-CRED-6: a magic link is redeemed by a click, not on load (mail scanners open links). */
function RedeemMagicLink({ token }: { token: string }) {
  const [error, setError] = useState('');
  const redeem = async () => {
    try {
      const answer = await must(api.POST('/v1/magic-links/redeem', { body: { token } }));
      if ('token' in answer) toConsole(answer);
      else setError('This account asks for a second factor: sign in with your password and code.');
    } catch (e) {
      setError(explain(e));
    }
  };
  return (
    <Card title="Sign in to Gatehouse">
      <Problem error={error} />
      <button onClick={() => void redeem()}>Sign in</button>
    </Card>
  );
}

/** R-PREF-2: an unsubscribe link shows what it will do; the click does it (mail scanners open links, they do not click). */
function Unsubscribe({ token }: { token: string }) {
  const [preview, setPreview] = useState<{ orgName: string; emailMarketing: boolean } | null>(null);
  const [done, setDone] = useState(false);
  const [error, setError] = useState('');
  useEffect(() => {
    must(api.GET('/v1/unsubscribe', { params: { query: { token } } })).then(setPreview, (e) => setError(explain(e)));
  }, [token]);
  const unsubscribe = async () => {
    try {
      await must(api.POST('/v1/unsubscribe', { params: { query: { token } } }));
      setDone(true);
    } catch (e) {
      setError(explain(e));
    }
  };
  return (
    <Card title="Marketing email">
      <Problem error={error} />
      {done ? (
        <p role="status">You will get no more marketing email from {preview?.orgName}. Messages about your account still reach you.</p>
      ) : (
        preview && (
          <>
            <p>
              Stop marketing email from <strong>{preview.orgName}</strong>?{preview.emailMarketing ? '' : ' You are unsubscribed already.'}
            </p>
            <button onClick={() => void unsubscribe()}>Unsubscribe</button>
          </>
        )
      )}
    </Card>
  );
}
