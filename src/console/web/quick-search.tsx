import { useEffect, useRef, useState } from 'react';
import { api, must, type Schemas } from './api';

type Hit = Schemas['MemberHitDto'];

/** R-LIST-3: ⌘K (Ctrl+K) from anywhere opens a search by name or email; the top 10 matches as you type. */
export function QuickSearch({ orgId, onPick }: { orgId: string; onPick: (hit: Hit) => void }) {
  const [open, setOpen] = useState(false);
  const [q, setQ] = useState('');
  const [hits, setHits] = useState<Hit[]>([]);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.metaKey || e.ctrlKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setOpen(true);
      } else if (e.key === 'Escape') setOpen(false);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  useEffect(() => {
    if (open) input.current?.focus();
  }, [open]);
  useEffect(() => {
    if (!q.trim()) return setHits([]);
    let current = true;
    must(api.GET('/v1/orgs/{org}/members/search', { params: { path: { org: orgId }, query: { q } } })).then(
      (answer) => current && setHits(answer.items),
      () => current && setHits([]),
    );
    return () => {
      current = false;
    };
  }, [orgId, q]);

  if (!open) return null;
  return (
    <div className="palette" role="dialog" aria-label="Quick search">
      <input ref={input} placeholder="Search people…" value={q} onChange={(e) => setQ(e.target.value)} />
      <ul>
        {hits.map((hit) => (
          <li key={hit.userId}>
            <button
              onClick={() => {
                onPick(hit);
                setOpen(false);
              }}
            >
              {hit.firstName} {hit.lastName} <small>{hit.email}</small>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
