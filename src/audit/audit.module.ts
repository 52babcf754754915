import { Module } from '@nestjs/common';
import { CapabilitiesController } from './capabilities.controller';
import { HistoryController } from './history.controller';

/** R-AUD-2, R-AUD-3: what auditors read. The event store, sessions and access come from the global core module. */
@Module({ controllers: [HistoryController, CapabilitiesController] })
export class AuditModule {}
