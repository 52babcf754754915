import { useState, type FormEvent } from 'react';
import { api, explain, must, type Schemas } from './api';

/** R-AUD-2 (SPEC 5.2): what could this person do at a past time, replayed from the history. */
export function Audit({ orgId }: { orgId: string }) {
  const [userId, setUserId] = useState('');
  const [at, setAt] = useState('');
  const [answer, setAnswer] = useState<Schemas['CapabilitiesDto'] | null>(null);
  const [error, setError] = useState('');
  const ask = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    setAnswer(null);
    try {
      setAnswer(await must(api.GET('/v1/orgs/{org}/members/{user}/capabilities', { params: { path: { org: orgId, user: userId }, query: { at: new Date(at).toISOString() } } })));
    } catch (err) {
      setError(explain(err));
    }
  };
  return (
    <main>
      <h1>Audit</h1>
      <form className="inline panel" onSubmit={ask} aria-label="Capabilities at a time">
        <input aria-label="User id" placeholder="user id" value={userId} onChange={(e) => setUserId(e.target.value.trim())} required />
        <input aria-label="At" type="datetime-local" step="1" value={at} onChange={(e) => setAt(e.target.value)} required />
        <button type="submit">What could they do then?</button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {answer && (
        <section aria-label="Capabilities">
          <p>
            {answer.member ? `Member: ${answer.roleId}, ${answer.status}, ${answer.approval}${answer.banned ? ', banned' : ''}` : 'Not a member at that time.'} (as of position {answer.position})
          </p>
          <ul>
            {answer.permissions.map((p, i) => (
              <li key={i}>
                {p.permission}
                {p.location ? ` at ${p.location}` : ''} — by {p.via}
                {p.expiresAt ? `, until ${new Date(p.expiresAt).toLocaleString()}` : ''}
              </li>
            ))}
          </ul>
        </section>
      )}
      <p>
        The full history of this org, with its hash chain, is an NDJSON export: <code>GET /v1/orgs/{orgId}/history</code> (or <code>npm run cli -- export --org {orgId}</code>), checked offline with{' '}
        <code>npm run cli -- verify --file</code>.
      </p>
    </main>
  );
}
