import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { mergeMap } from 'rxjs';
import { operatorAccess, operatorAccessStream } from '../../domain/access/operator-access';
import { membership, membershipStream } from '../../domain/membership/membership';
import { OrgAccess } from '../access/org-access.service';
import { metaOf, type GatehouseRequest } from '../shared/request-context';
import { record, Streams } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';

/** One record per operator, org and route in this long, per replica: an admin console polling a list is one access, not hundreds. */
const SAME_ACCESS_MS = 60_000;

/**
 * R-SEC-1: after a successful read of an org's route (GET /v1/orgs/{org}/…) by a
 * person who is not its member but reaches it as a system admin or partner admin,
 * `OperatorAccessed` goes into the org's history before the answer does.
 */
@Injectable()
export class OperatorAccessRecorder implements NestInterceptor {
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly orgAccess: OrgAccess,
    private readonly streams: Streams,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler) {
    const request = context.switchToHttp().getRequest<GatehouseRequest>();
    const orgId = (request.params as Record<string, string> | undefined)?.org;
    if (request.method !== 'GET' || !orgId || request.actor?.kind !== 'user') return next.handle();
    return next.handle().pipe(
      mergeMap(async (body: unknown) => {
        await this.record(request, orgId);
        return body;
      }),
    );
  }

  private async record(request: GatehouseRequest, orgId: string): Promise<void> {
    const actor = request.actor!;
    // A member's read is the common case: settled by one (cached) load.
    if ((await this.streams.load(membershipStream(orgId, actor.id), membership)).state.exists) return;
    const { via } = await this.orgAccess.load(orgId, actor);
    const action = `GET ${request.routeOptions.url ?? request.url.split('?')[0]}`;
    const key = `${actor.id}|${orgId}|${action}`;
    const now = this.clock().getTime();
    if ((this.recent.get(key) ?? -Infinity) > now - SAME_ACCESS_MS) return;
    const events = operatorAccess(orgId, actor.id, via, action);
    if (events.length === 0) return;
    await this.streams.commit([record(operatorAccessStream(orgId), events)], metaOf(request, orgId));
    this.recent.set(key, now);
    if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value!);
  }
}
