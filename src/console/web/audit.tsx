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
      <History orgId={orgId} />
      <p>
        The full history of this org, with its hash chain, is an NDJSON export: <code>GET /v1/orgs/{orgId}/history</code> (or <code>npm run cli -- export --org {orgId}</code>), checked offline with{' '}
        <code>npm run cli -- verify --file</code>.
      </p>
    </main>
  );
}

type Line = Schemas['HistoryLineDto'];
/** The view shows this many events at most; the export has them all. */
const SHOWN = 500;
const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);

/**
 * R-AUD-2 (SPEC 5.1): the org's history over a time range, about one person, of some event types,
 * read as it streams (NDJSON, one event a line) and shown as a table; the stream is let go after SHOWN lines.
 */
function History({ orgId }: { orgId: string }) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [user, setUser] = useState('');
  const [types, setTypes] = useState('');
  const [lines, setLines] = useState<Line[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState('');

  const read = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    setLines(null);
    setMore(false);
    try {
      const query = { from: iso(from), to: iso(to), user: user || undefined, types: types.replace(/\s+/g, '') || undefined };
      const stream = await must(api.GET('/v1/orgs/{org}/history', { params: { path: { org: orgId }, query }, headers: { accept: 'application/x-ndjson' }, parseAs: 'stream' }));
      const found: Line[] = [];
      let rest = '';
      // An empty answer (Content-Length: 0) comes back with no stream at all.
      const reader = stream instanceof ReadableStream ? stream.pipeThrough(new TextDecoderStream()).getReader() : null;
      for (let chunk = reader && (await reader.read()); reader && chunk && !chunk.done; chunk = await reader.read()) {
        const parts = (rest + chunk.value).split('\n');
        rest = parts.pop() ?? '';
        for (const part of parts) if (part.trim()) found.push(JSON.parse(part) as Line);
        if (found.length > SHOWN) {
          await reader.cancel();
          break;
        }
      }
      if (rest.trim() && found.length <= SHOWN) found.push(JSON.parse(rest) as Line);
      setMore(found.length > SHOWN);
      setLines(found.slice(0, SHOWN));
    } catch (err) {
      setError(explain(err));
    }
  };

  return (
    <section className="card panel" aria-label="History">
      <h2>History</h2>
      <form className="inline" onSubmit={read}>
        <label>
          From <input type="datetime-local" step="1" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To <input type="datetime-local" step="1" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <input aria-label="About user" placeholder="user id (optional)" value={user} onChange={(e) => setUser(e.target.value.trim())} />
        <input aria-label="Event types" placeholder="RoleChanged, AccessDisabled" value={types} onChange={(e) => setTypes(e.target.value)} />
        <button type="submit">Show history</button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {lines && (
        <>
          <p role="status">
            {lines.length === 0 ? 'No events match.' : more ? `The first ${SHOWN} events; narrow the filters, or export them all.` : `${lines.length} event${lines.length === 1 ? '' : 's'}.`}
          </p>
          <table aria-label="Events">
            <thead>
              <tr>
                <th>Position</th>
                <th>Time</th>
                <th>Event</th>
                <th>Stream</th>
                <th>By</th>
                <th>Details</th>
              </tr>
            </thead>
            <tbody>
              {lines.map((line) => (
                <tr key={line.eventId} data-position={line.position}>
                  <td>{line.position}</td>
                  <td>{new Date(line.recordedAt).toLocaleString()}</td>
                  <td>{line.type}</td>
                  <td className="permissions">{line.stream}</td>
                  <td className="permissions">
                    {line.actor.kind} {line.actor.id}
                    {line.realActor ? ` (really ${line.realActor.id})` : ''}
                  </td>
                  <td className="permissions">{details(line)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/** The event's fields worth reading, personal data decrypted where the export gives it; ids and sealed values left out. */
function details(line: Line): string {
  const plain = Object.entries({ ...line.data, ...(line.personal ?? {}) }).filter(([key, value]) => key !== 'orgId' && (typeof value !== 'object' || value === null) && !(typeof value === 'string' && value.length > 80));
  return plain.map(([key, value]) => `${key}: ${String(value)}`).join(', ');
}
