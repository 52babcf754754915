import { useEffect, useState, type FormEvent } from 'react';
import { api, explain, must, type Schemas } from './api';
import { Problem, useWrites } from './writes';

/** R-SYS-1: system admins see every org, suspend and reactivate them, change their plan, and re-drive dead letters (R-BILL-3). */
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
      <PlanChange orgs={orgs} run={run} />
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

/**
 * R-SYS-1, R-BILL-1: an org's plan and the Stripe subscription its seats follow, set together
 * (PUT /v1/system/orgs/{org}/plan takes both: blank ids mean no subscription).
 */
function PlanChange({ orgs, run }: { orgs: Schemas['SystemOrgDto'][]; run: (write: () => Promise<unknown>) => Promise<boolean> }) {
  const [orgId, setOrgId] = useState('');
  const [plan, setPlan] = useState('');
  const [customerId, setCustomerId] = useState('');
  const [subscriptionId, setSubscriptionId] = useState('');
  const [subscriptionItemId, setSubscriptionItemId] = useState('');
  const [changed, setChanged] = useState('');
  const target = orgId || orgs[0]?.orgId || '';
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setChanged('');
    const stripe = customerId || subscriptionId || subscriptionItemId ? { customerId, subscriptionId, subscriptionItemId } : null;
    void run(async () => {
      const answer = await must(api.PUT('/v1/system/orgs/{org}/plan', { params: { path: { org: target } }, body: { plan, stripe } }));
      setChanged(`${orgs.find((o) => o.orgId === target)?.name ?? target} is on the ${answer.plan} plan${answer.stripe ? `, billed on ${answer.stripe.subscriptionId}` : ', with no Stripe subscription'}.`);
    });
  };
  return (
    <section className="card panel" aria-label="Plan">
      <h2>Plan</h2>
      <form className="inline" onSubmit={submit}>
        <select aria-label="Organization for the plan" value={target} onChange={(e) => setOrgId(e.target.value)}>
          {orgs.filter((o) => o.status !== 'deleted').map((o) => (
            <option key={o.orgId} value={o.orgId}>
              {o.name}
            </option>
          ))}
        </select>
        <input aria-label="Plan" placeholder="plan, e.g. business" value={plan} onChange={(e) => setPlan(e.target.value.trim())} required />
        <input aria-label="Stripe customer" placeholder="cus_… (optional)" value={customerId} onChange={(e) => setCustomerId(e.target.value.trim())} />
        <input aria-label="Stripe subscription" placeholder="sub_…" value={subscriptionId} onChange={(e) => setSubscriptionId(e.target.value.trim())} required={!!customerId || !!subscriptionItemId} />
        <input aria-label="Stripe subscription item" placeholder="si_…" value={subscriptionItemId} onChange={(e) => setSubscriptionItemId(e.target.value.trim())} required={!!customerId || !!subscriptionId} />
        <button type="submit">Change plan</button>
      </form>
      <p>The plan and the subscription are set together: blank Stripe ids mean the org is billed on no subscription.</p>
      {changed && <p role="status">{changed}</p>}
    </section>
  );
}
