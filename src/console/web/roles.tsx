import { useEffect, useState, type FormEvent } from 'react';
import { api, explain, must, type Schemas } from './api';
import { Problem, useWrites } from './writes';

/** R-ROLE-2/3: the org's roles, built-in and custom (color, description, permissions, active); custom roles made and edited here. */
export function Roles({ orgId, mayManage }: { orgId: string; mayManage: boolean }) {
  const [roles, setRoles] = useState<Schemas['RoleDto'][]>([]);
  const [version, setVersion] = useState(0);
  const { error, setError, run } = useWrites(() => setVersion((v) => v + 1));
  const [name, setName] = useState('');
  const [color, setColor] = useState('#0ea5e9');
  const [description, setDescription] = useState('');
  const [permissions, setPermissions] = useState('');
  const org = { path: { org: orgId } };

  useEffect(() => {
    must(api.GET('/v1/orgs/{org}/roles', { params: org })).then((page) => setRoles(page.items), (e) => setError(explain(e)));
  }, [orgId, version]);

  const create = (e: FormEvent) => {
    e.preventDefault();
    const list = permissions.split(/[\s,]+/).filter(Boolean);
    void run(() => must(api.POST('/v1/orgs/{org}/roles', { params: org, body: { name, color, description, permissions: list } }))).then((made) => made && setName(''));
  };

  return (
    <main>
      <h1>Roles</h1>
      <Problem error={error} />
      <table aria-label="Roles">
        <tbody>
          {roles.map((r) => (
            <tr key={r.id} data-role={r.id}>
              <td>
                <span className="swatch" style={{ color: r.color }} aria-hidden="true">
                  ●
                </span>{' '}
                <strong>{r.name}</strong> {r.builtIn ? <small>built-in</small> : null}
              </td>
              <td>{r.description}</td>
              <td className="permissions">{r.owner ? 'everything' : r.permissions.join(', ')}</td>
              <td>
                {r.active ? 'active' : 'inactive'}
                {mayManage && !r.builtIn && (
                  <button className="secondary" onClick={() => void run(() => must(api.PATCH('/v1/orgs/{org}/roles/{role}', { params: { path: { org: orgId, role: r.id } }, body: { active: !r.active } })))}>
                    {r.active ? 'Deactivate' : 'Activate'}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {mayManage && (
        <form className="inline panel" onSubmit={create} aria-label="New role">
          <input aria-label="Role name" placeholder="Name" value={name} onChange={(e) => setName(e.target.value)} required />
          <input aria-label="Color" type="color" value={color} onChange={(e) => setColor(e.target.value)} />
          <input aria-label="Description" placeholder="Description" value={description} onChange={(e) => setDescription(e.target.value)} required />
          <input aria-label="Permissions" placeholder="users.list.any, tickets.view.any" value={permissions} onChange={(e) => setPermissions(e.target.value)} />
          <button type="submit">Create role</button>
        </form>
      )}
    </main>
  );
}
