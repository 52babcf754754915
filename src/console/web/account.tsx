import { useState, type FormEvent } from 'react';
import { api, explain, must, type Schemas } from './api';

/** R-CRED-8: my account: two-step sign-in with an authenticator app, its backup codes shown once. */
export function Account({ me, onChanged }: { me: Schemas['MeDto']; onChanged: () => void }) {
  const [enrollment, setEnrollment] = useState<Schemas['MfaEnrollmentDto'] | null>(null);
  const [code, setCode] = useState('');
  const [backupCodes, setBackupCodes] = useState<string[]>([]);
  const [error, setError] = useState('');

  const start = async () => {
    setError('');
    try {
      setEnrollment(await must(api.POST('/v1/me/mfa/totp')));
    } catch (e) {
      setError(explain(e));
    }
  };
  const verify = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    try {
      const answer = await must(api.POST('/v1/me/mfa/totp/verify', { body: { code } }));
      setBackupCodes(answer.backupCodes);
      setEnrollment(null);
      onChanged();
    } catch (err) {
      setError(explain(err));
    }
  };

  return (
    <section className="card panel" aria-label="My account">
      <h2>
        {me.firstName} {me.lastName} <small>{me.email}</small>
      </h2>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {backupCodes.length > 0 ? (
        <div className="once" role="status">
          <p>Two-step sign-in is on. Keep these backup codes somewhere safe: each works once, and they are shown only now.</p>
          <ul aria-label="Backup codes">
            {backupCodes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
        </div>
      ) : me.mfaEnabled ? (
        <p>Two-step sign-in is on.</p>
      ) : enrollment ? (
        <form onSubmit={verify}>
          <p>
            Add this key to your authenticator app (or open <a href={enrollment.otpauthUri}>this link</a> on your phone): <code aria-label="Secret">{enrollment.secret}</code>
          </p>
          <label>
            The 6-digit code it shows <input value={code} onChange={(e) => setCode(e.target.value)} autoComplete="one-time-code" inputMode="numeric" />
          </label>
          <button type="submit">Turn on</button>
        </form>
      ) : (
        <button onClick={() => void start()}>Set up two-step sign-in</button>
      )}
    </section>
  );
}
