import { useEffect, useState } from 'react';
import { api, explain, must, type Schemas } from './api';
import { Problem, useWrites } from './writes';

/** R-SYS-1: system admins see every org, suspend and reactivate them, and re-drive dead letters (R-BILL-3). */
export function System() {
  const [orgs, setOrgs] = useState<Schemas['SystemOrgDto'][]>([]);
  const [letters, setLetters] = useState<Schemas['DeadLetterDto'][]>([]);
  const [version, setVersion] = useState(0);
  const { error, setError, run } = useWrites(() => setVersion((v) => v + 1));

  useEffect(() => {
    must(api.GET('/v1/system/orgs')).then((page) => setOrgs(page.items), (e) => setError(explain(e)));
    must(api.GET('/v1/system/dead-letters')).then((list) => setLetters(list.items), (e) => setError(explain(e)));
  }, [version]);

  const org = (id: string) => ({ params: { path: { org: id } } });

  return (
    <main>
      <h1>System</h1>
      <Problem error={error} />
      <table aria-label="Organizations">
        <tbody>
          {orgs.map((o) => (
            <tr key={o.orgId} data-org={o.orgId}>
              <td>{o.name}</td>
              <td>{o.preset}</td>
              <td>{o.memberCount} members</td>
              <td className="status">{o.status}</td>
              <td>
                {o.status === 'active' && (
                  <button className="secondary" onClick={() => void run(() => must(api.POST('/v1/system/orgs/{org}/suspend', { ...org(o.orgId), body: {} })))}>
                    Suspend
                  </button>
                )}
                {o.status === 'suspended' && (
                  <button className="secondary" onClick={() => void run(() => must(api.POST('/v1/system/orgs/{org}/reactivate', org(o.orgId))))}>
                    Reactivate
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Dead letters</h2>
      <table aria-label="Dead letters">
        <tbody>
          {letters.map((l) => (
            <tr key={l.id}>
              <td>{l.consumer}</td>
              <td>{l.eventType}</td>
              <td>{l.reason}</td>
              <td>{l.status}</td>
              <td>
                {l.status === 'dead' && (
                  <button className="secondary" onClick={() => void run(() => must(api.POST('/v1/system/dead-letters/{id}/redrive', { params: { path: { id: l.id } } })))}>
                    Re-drive
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </main>
  );
}
