import { Module, ValidationPipe, type DynamicModule, type LoggerService } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { GrantExpiry } from './access/grant-expiry.service';
import { MembershipActionHandler } from './access/membership-action.handler';
import { AuthController } from './auth/auth.controller';
import { ChangeOwnPasswordHandler, RequestPasswordResetHandler, RevokeSessionsHandler, SendPasswordResetHandler, SetMemberPasswordHandler } from './auth/credentials.handlers';
import { MeController } from './auth/me.controller';
import { ExternalIdentityController, SignInWithIdentityHandler } from './auth/external-identity';
import { EndImpersonationHandler, ImpersonationController, StartImpersonationHandler } from './auth/impersonation';
import { ResetMemberMfaHandler, SignInWithMfaHandler, StartMfaEnrollmentHandler, VerifyMfaEnrollmentHandler } from './auth/mfa.handlers';
import { RedeemMagicLinkHandler, RedeemPasswordLinkHandler, RequestMagicLinkHandler, SignInCompletion, SignInHandler } from './auth/sign-in.handlers';
import { Settings } from './config/config';
import { CoreModule } from './core/core.module';
import { AuditModule } from './audit/audit.module';
import { HealthController } from './health/health.controller';
import { AcceptInvitationHandler } from './invitations/accept-invitation.handler';
import { InviteUserHandler, ResendInvitationHandler, RevokeInvitationHandler } from './invitations/invitation.handlers';
import { AcceptInvitationController, InvitationsController } from './invitations/invitations.controller';
import { CreateMemberHandler } from './membership/create-member.handler';
import { SendSetupLinkHandler, SetAccessCodeHandler, UpdateMemberHandler } from './membership/member.handlers';
import { MembersController } from './membership/members.controller';
import { CreateOrganizationHandler } from './organizations/create-organization.handler';
import { OrganizationsController } from './organizations/organizations.controller';
import { ServiceKeyActionHandler, ServiceKeysController } from './organizations/service-keys';
import { AuthorizeController } from './authz/authorize.controller';
import { QueriesController } from './lists/queries.controller';
import { EraseMeController, EraseUserHandler, SystemUsersController } from './auth/erasure';
import { DeleteOrganizationHandler } from './system/org-deletion';
import { CONSENT_CONTROLLERS, Consents } from './consent/consent';
import { StripeBalanceController } from './billing/balance.controller';
import { ChangeOrgStatusHandler, ChangePlanHandler, DeadLettersController, SystemController } from './system/system.controller';
import { Metrics, MetricsController } from './ops/metrics.controller';
import { KafkaCommands } from './messaging/kafka-commands';
import { CreatePartnerHandler, CreatePartnerOrgHandler, PartnersController } from './organizations/partners';
import { OrgSettingsController } from './organizations/org-settings.controller';
import { AddLocationHandler, ChangePolicyHandler, CreateRoleHandler, TransferOwnershipHandler, UpdateRoleHandler } from './organizations/org-settings.handlers';
import { ApiErrorFilter, validationFailed } from './shared/api-error';
import { HTTP_LOG, HttpLogging, logOf } from './shared/logging';
import { PositionHook } from './shared/position.interceptor';
import type { Clock } from './shared/tokens';
import { ImportJobs } from './imports/import-jobs';
import { ImportsController } from './imports/imports.controller';
import { ConsoleController } from './console/console.controller';

export interface AppOptions {
  settings: Settings;
  clock?: Clock;
  /** Where logs go: stdout by default; false for none; a LoggerService (tests) gets each line. */
  logger?: false | LoggerService;
}

@Module({})
export class AppModule {
  static forRoot({ settings, clock = () => new Date(), logger }: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => ({ settings })] }),
        CqrsModule.forRoot(),
        CoreModule.forRoot(settings, clock),
        AuditModule,
      ],
      controllers: [HealthController, AuthController, MeController, ImpersonationController, ExternalIdentityController, OrganizationsController, OrgSettingsController, InvitationsController, AcceptInvitationController, MembersController, ServiceKeysController, AuthorizeController, PartnersController, QueriesController, MetricsController, SystemController, DeadLettersController, SystemUsersController, EraseMeController, ...CONSENT_CONTROLLERS, StripeBalanceController, ImportsController, ConsoleController],
      providers: [
        CreateOrganizationHandler,
        AddLocationHandler, ChangePolicyHandler, CreateRoleHandler, UpdateRoleHandler, TransferOwnershipHandler,
        SignInHandler,
        SignInCompletion,
        RequestMagicLinkHandler,
        RedeemMagicLinkHandler,
        SignInWithIdentityHandler,
        RedeemPasswordLinkHandler,
        InviteUserHandler,
        ResendInvitationHandler,
        RevokeInvitationHandler,
        AcceptInvitationHandler,
        CreateMemberHandler,
        MembershipActionHandler,
        UpdateMemberHandler,
        SetAccessCodeHandler,
        SendSetupLinkHandler,
        ServiceKeyActionHandler,
        GrantExpiry,
        ChangeOrgStatusHandler,
        ChangePlanHandler,
        KafkaCommands,
        SetMemberPasswordHandler,
        SendPasswordResetHandler,
        RequestPasswordResetHandler,
        ChangeOwnPasswordHandler,
        EraseUserHandler,
        Consents,
        DeleteOrganizationHandler,
        RevokeSessionsHandler,
        StartMfaEnrollmentHandler,
        VerifyMfaEnrollmentHandler,
        SignInWithMfaHandler,
        ResetMemberMfaHandler,
        StartImpersonationHandler,
        EndImpersonationHandler,
        Metrics,
        CreatePartnerHandler,
        CreatePartnerOrgHandler,
        ImportJobs,
        { provide: HTTP_LOG, useValue: logOf(settings, logger) },
        HttpLogging,
        { provide: APP_FILTER, useClass: ApiErrorFilter },
        PositionHook,
        {
          provide: APP_PIPE,
          // Unknown fields are refused (forbidNonWhitelisted), not silently dropped.
          useValue: new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, exceptionFactory: validationFailed }),
        },
      ],
    };
  }
}
