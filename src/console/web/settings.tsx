import { useEffect, useState, type FormEvent } from 'react';
import { api, explain, must, type Schemas } from './api';
import { Problem, useWrites } from './writes';

/** The org's settings (org.manage.any): policy, locations, service keys (shown once), and handing ownership to another member. */
export function Settings({ orgId, isOwner }: { orgId: string; isOwner: boolean }) {
  const [org, setOrg] = useState<Schemas['OrganizationDto'] | null>(null);
  const [version, setVersion] = useState(0);
  const { error, setError, run } = useWrites(() => setVersion((v) => v + 1));
  const [location, setLocation] = useState('');
  const [keyName, setKeyName] = useState('');
  const [keyPermissions, setKeyPermissions] = useState('');
  const [issuedKey, setIssuedKey] = useState('');
  const [newOwner, setNewOwner] = useState('');
  const params = { params: { path: { org: orgId } } };

  useEffect(() => {
    must(api.GET('/v1/orgs/{org}', params)).then(setOrg, (e) => setError(explain(e)));
  }, [orgId, version]);

  const addLocation = (e: FormEvent) => {
    e.preventDefault();
    void run(() => must(api.POST('/v1/orgs/{org}/locations', { ...params, body: { name: location } }))).then((ok) => ok && setLocation(''));
  };
  const issueKey = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const issued = await must(api.POST('/v1/orgs/{org}/service-keys', { ...params, body: { name: keyName, permissions: keyPermissions.split(/[\s,]+/).filter(Boolean) } }));
      setIssuedKey(issued.key);
    });
  };
  const transfer = (e: FormEvent) => {
    e.preventDefault();
    void run(() => must(api.POST('/v1/orgs/{org}/owner-transfer', { ...params, body: { toUserId: newOwner } })));
  };

  if (!org) return <main>{error || 'Loading…'}</main>;
  return (
    <main>
      <h1>{org.name}</h1>
      <Problem error={error} />
      <section className="card panel" aria-label="Policy">
        <h2>Policy</h2>
        <form className="inline">
          <label>
            Invitations last (hours){' '}
            <input type="number" min={1} defaultValue={org.policy.invitationExpiryHours} onBlur={(e) => void run(() => must(api.PATCH('/v1/orgs/{org}/policy', { ...params, body: { invitationExpiryHours: Number(e.target.value) } })))} />
          </label>
          <label>
            Default role{' '}
            <select value={org.policy.defaultRole} onChange={(e) => void run(() => must(api.PATCH('/v1/orgs/{org}/policy', { ...params, body: { defaultRole: e.target.value } })))}>
              {org.roles.filter((r) => !r.owner).map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            <input type="checkbox" checked={org.policy.doorAccess} onChange={(e) => void run(() => must(api.PATCH('/v1/orgs/{org}/policy', { ...params, body: { doorAccess: e.target.checked } })))} /> Door access codes
          </label>
        </form>
      </section>
      <section className="card panel" aria-label="Locations">
        <h2>Locations</h2>
        <ul>
          {org.locations.map((l) => (
            <li key={l.locationId}>{l.name}</li>
          ))}
        </ul>
        <form className="inline" onSubmit={addLocation}>
          <input aria-label="New location" placeholder="Location name" value={location} onChange={(e) => setLocation(e.target.value)} required />
          <button type="submit">Add location</button>
        </form>
      </section>
      <section className="card panel" aria-label="Service keys">
        <h2>Service keys</h2>
        <form className="inline" onSubmit={issueKey}>
          <input aria-label="Key name" placeholder="Name, e.g. purchase service" value={keyName} onChange={(e) => setKeyName(e.target.value)} required />
          <input aria-label="Key permissions" placeholder="billing.manage.any" value={keyPermissions} onChange={(e) => setKeyPermissions(e.target.value)} required />
          <button type="submit">Issue key</button>
        </form>
        {issuedKey && (
          <p className="once" role="status">
            The key, shown this once: <code>{issuedKey}</code>
          </p>
        )}
      </section>
      {isOwner && (
        <section className="card panel" aria-label="Ownership">
          <h2>Ownership</h2>
          <form className="inline" onSubmit={transfer}>
            <input aria-label="New owner's user id" placeholder="user id of an active member" value={newOwner} onChange={(e) => setNewOwner(e.target.value.trim())} required />
            <button type="submit">Transfer ownership</button>
          </form>
        </section>
      )}
    </main>
  );
}
