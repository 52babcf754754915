import { Inject, Module, type DynamicModule, type OnApplicationShutdown, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { ConfigModule } from '@nestjs/config';
import { CqrsModule } from '@nestjs/cqrs';
import { join } from 'node:path';
import { MailboxMailer } from '../infra/email/mailbox';
import { MAILER } from '../infra/email/port';
import type { EventStore } from '../infra/eventstore/port';
import { OrgAccess } from './access/org-access.service';
import { SessionGuard } from './auth/session.guard';
import { Sessions } from './auth/sessions.service';
import { Settings } from './config/config';
import { HealthController } from './health/health.controller';
import { InvitationsController } from './invitations/invitations.controller';
import { InviteUserHandler } from './invitations/invite-user.handler';
import { CreateOrganizationHandler } from './organizations/create-organization.handler';
import { OrganizationsController } from './organizations/organizations.controller';
import { ApiErrorFilter, validationFailed } from './shared/api-error';
import { eventStoreProvider } from './shared/event-store.provider';
import { PositionInterceptor } from './shared/position.interceptor';
import { Streams } from './shared/streams';
import { CLOCK, EVENT_STORE, type Clock } from './shared/tokens';

export interface AppOptions {
  settings: Settings;
  clock?: Clock;
}

/** Closes the stores when the app stops. */
class Shutdown implements OnApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  async onApplicationShutdown() {
    await this.store.close();
  }
}

@Module({})
export class AppModule {
  static forRoot({ settings, clock = () => new Date() }: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => ({ settings })] }), CqrsModule.forRoot()],
      controllers: [HealthController, OrganizationsController, InvitationsController],
      providers: [
        { provide: Settings, useValue: settings },
        { provide: CLOCK, useValue: clock },
        eventStoreProvider,
        { provide: MAILER, inject: [CLOCK], useFactory: (c: Clock) => new MailboxMailer(join(settings.dataDir, 'mailbox'), c) },
        Streams,
        Sessions,
        SessionGuard,
        OrgAccess,
        CreateOrganizationHandler,
        InviteUserHandler,
        Shutdown,
        { provide: APP_FILTER, useClass: ApiErrorFilter },
        { provide: APP_INTERCEPTOR, useClass: PositionInterceptor },
        {
          provide: APP_PIPE,
          // Unknown fields are refused (forbidNonWhitelisted), not silently dropped.
          useValue: new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, exceptionFactory: validationFailed }),
        },
      ],
    };
  }
}
