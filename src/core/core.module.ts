import { IdempotentCommands } from '../shared/idempotency';
import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { join } from 'node:path';
import { CUSTOMER_BALANCES, noCustomerBalances, noSeatBilling, SEAT_BILLING } from '../../infra/billing/port';
import { StripeCustomerBalances, StripeSeatBilling } from '../../infra/billing/stripe';
import { MailboxMailer } from '../../infra/email/mailbox';
import { MAILER } from '../../infra/email/port';
import { PostmarkMailer } from '../../infra/email/postmark';
import { NameKeys } from '../../infra/crypto/name-keys';
import { SecretBox } from '../../infra/crypto/sealing';
import type { EventStore } from '../../infra/eventstore/port';
import { OrgAccess } from '../access/org-access.service';
import { Links } from '../auth/links.service';
import { SessionGuard } from '../auth/session.guard';
import { Sessions } from '../auth/sessions.service';
import { RequestLimit, SignInThrottle } from '../auth/throttle';
import { Settings } from '../config/config';
import { Joining } from '../membership/joining';
import { eventStoreProvider, openSecretBox, personalDataProvider } from '../shared/event-store.provider';
import { Streams } from '../shared/streams';
import { openReadStore } from '../shared/read-store.provider';
import type { ReadStore } from '../../infra/readstore/port';
import { ProjectionRunner } from '../readmodels/projection-runner';
import { ConsumerRunner, CONSUMERS } from '../messaging/consumer-runner';
import { DEAD_LETTER_SINK } from '../shared/dead-letters';
import { KafkaPublisher } from '../messaging/kafka-publisher';
import { EmailConsumer } from '../messaging/email.consumer';
import { SeatConsumer } from '../messaging/seats.consumer';
import { LinkRequestConsumer } from '../messaging/link-request.consumer';
import { CLOCK, EVENT_STORE, LEASING, MESSAGE_BUS, PERSONAL_DATA, READ_STORE, type Clock } from '../shared/tokens';
import { openLeases } from '../shared/leases.provider';
import type { Leasing } from '../shared/supervisor';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { KafkaBus } from '../../infra/messaging/kafka';

/** Closes the stores when the app stops (after the projections have stopped reading). */
class Shutdown implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    private readonly runner: ProjectionRunner,
    private readonly consumers: ConsumerRunner,
    private readonly publisher: KafkaPublisher,
    @Inject(LEASING) private readonly leasing: Leasing,
  ) {}
  async onApplicationShutdown() {
    await this.consumers.onApplicationShutdown();
    await this.publisher.onApplicationShutdown();
    await this.runner.onApplicationShutdown();
    await this.leasing.leases.close();
    await this.store.close();
    await this.readStore.close();
  }
}

const SHARED = [Streams, IdempotentCommands, Sessions, SessionGuard, Links, OrgAccess, Joining, ProjectionRunner, ConsumerRunner, KafkaPublisher, SignInThrottle, RequestLimit];

/** What every feature module uses: settings, clock, the event store, the mailer, the command path, sessions and access. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(settings: Settings, clock: Clock): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: Settings, useValue: settings },
        { provide: CLOCK, useValue: clock },
        eventStoreProvider,
        personalDataProvider,
        {
          provide: MAILER,
          inject: [CLOCK],
          useFactory: (c: Clock) => (settings.POSTMARK_SERVER_TOKEN ? new PostmarkMailer(settings.POSTMARK_SERVER_TOKEN, settings.MAIL_FROM, settings.POSTMARK_API_URL) : new MailboxMailer(join(settings.dataDir, 'mailbox'), c)),
        },
        { provide: SEAT_BILLING, useFactory: () => (settings.STRIPE_SECRET_KEY ? new StripeSeatBilling(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_URL) : noSeatBilling) },
        { provide: CUSTOMER_BALANCES, useFactory: () => (settings.STRIPE_SECRET_KEY ? new StripeCustomerBalances(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_URL) : noCustomerBalances) },
        EmailConsumer,
        SeatConsumer,
        { provide: DEAD_LETTER_SINK, useExisting: KafkaPublisher },
        LinkRequestConsumer,
        { provide: CONSUMERS, inject: [EmailConsumer, SeatConsumer, LinkRequestConsumer], useFactory: (...consumers: unknown[]) => consumers },
        { provide: READ_STORE, useFactory: () => openReadStore(settings) },
        {
          // Leases live in the event store's database (SQLite file, PostgreSQL), or for EventStoreDB in the read store.
          provide: LEASING,
          inject: [READ_STORE],
          useFactory: (readStore: ReadStore): Leasing => ({ leases: openLeases(settings, readStore), holder: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`, ttlMs: settings.LEASE_TTL_SECONDS * 1000 }),
        },
        {
          provide: MESSAGE_BUS,
          useFactory: () => (settings.KAFKA_BROKERS ? new KafkaBus(settings.kafka, { topicPrefix: settings.KAFKA_TOPIC_PREFIX, partitions: settings.KAFKA_PARTITIONS }) : null),
        },
        {
          provide: SecretBox,
          useFactory: () => openSecretBox(settings),
        },
        { provide: NameKeys, inject: [SecretBox], useFactory: (box: SecretBox) => new NameKeys(box) },
        ...SHARED,
        Shutdown,
      ],
      exports: [Settings, CLOCK, EVENT_STORE, PERSONAL_DATA, CUSTOMER_BALANCES, READ_STORE, MESSAGE_BUS, LEASING, MAILER, SecretBox, NameKeys, DEAD_LETTER_SINK, ...SHARED],
    };
  }
}
