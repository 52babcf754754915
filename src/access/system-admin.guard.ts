import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { GatehouseRequest } from '../shared/request-context';
import { OrgAccess } from './org-access.service';

/** R-SYS-1: routes for system administrators only (after SessionGuard has named the actor). */
@Injectable()
export class SystemAdminGuard implements CanActivate {
  constructor(private readonly orgAccess: OrgAccess) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    await this.orgAccess.requireSystemAdmin(context.switchToHttp().getRequest<GatehouseRequest>().actor!);
    return true;
  }
}
