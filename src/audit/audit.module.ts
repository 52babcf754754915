import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { OperatorAccessRecorder } from './operator-access.interceptor';
import { CapabilitiesController } from './capabilities.controller';
import { HistoryController } from './history.controller';

/** R-AUD-2, R-AUD-3, R-SEC-1: what auditors read, and the record of operators' reads. The event store, sessions and access come from the global core module. */
@Module({ controllers: [HistoryController, CapabilitiesController], providers: [{ provide: APP_INTERCEPTOR, useClass: OperatorAccessRecorder }] })
export class AuditModule {}
