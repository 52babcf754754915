import { DomainError } from '../../domain/shared/errors';
import type { GatehouseRequest } from '../shared/request-context';
import type { ProjectionRunner } from './projection-runner';

const WAIT_MS = 5000;

/**
 * R-LIST-5: a read given `Gatehouse-Min-Position` (or `?minPosition=`) waits, up
 * to 5 s, until the read models have reached it; if they have not, it says so
 * (503, `read_model_behind`) rather than answer with data older than the client's own write.
 */
export async function readAfter(request: GatehouseRequest, runner: ProjectionRunner): Promise<void> {
  const header = request.headers['gatehouse-min-position'];
  const query = (request.query as Record<string, unknown>).minPosition;
  const raw = typeof header === 'string' ? header : typeof query === 'string' ? query : undefined;
  if (raw === undefined) return;
  if (!/^\d{1,30}$/.test(raw)) throw new DomainError('validation_failed', 'minPosition must be a position returned by a command', { fields: [{ field: 'minPosition', problems: ['not a position'] }] });
  if (!(await runner.waitFor(BigInt(raw), WAIT_MS))) {
    throw new DomainError('read_model_behind', 'the read models have not reached that position yet; try again shortly', { position: runner.position().toString() });
  }
}
