import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, IsUUID, Matches, Max, Min, ValidateIf, validateSync } from 'class-validator';
import { resolve } from 'node:path';

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));

/** Every setting Gatehouse reads, validated at start: a wrong value stops start-up with a clear message. */
export class Settings {
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 3000;

  @IsOptional() @IsString()
  HOST = '0.0.0.0';

  /** Where the embedded stores and the mailbox live. */
  @IsOptional() @IsString()
  DATA_DIR = './data';

  @IsOptional() @IsIn(['sqlite', 'postgres', 'eventstoredb'])
  EVENT_STORE: 'sqlite' | 'postgres' | 'eventstoredb' = 'sqlite';

  @ValidateIf((s: Settings) => s.EVENT_STORE === 'postgres')
  @IsUrl({ protocols: ['postgres', 'postgresql'], require_tld: false, require_protocol: true }, { message: 'POSTGRES_URL must be a postgres:// URL when EVENT_STORE=postgres' })
  POSTGRES_URL?: string;

  @ValidateIf((s: Settings) => s.EVENT_STORE === 'eventstoredb')
  @IsString({ message: 'EVENTSTORE_URL must be set when EVENT_STORE=eventstoredb (e.g. esdb://localhost:2113?tls=false)' })
  EVENTSTORE_URL?: string;

  /** Where the read models live: `embedded` (SQLite in DATA_DIR) or `mongodb`. */
  @IsOptional() @IsIn(['embedded', 'mongodb'])
  READ_STORE: 'embedded' | 'mongodb' = 'embedded';

  @ValidateIf((s: Settings) => s.READ_STORE === 'mongodb')
  @IsString({ message: 'MONGODB_URL must be set when READ_STORE=mongodb (e.g. mongodb://localhost:27017)' })
  @Matches(/^mongodb(\+srv)?:\/\//, { message: 'MONGODB_URL must be a mongodb:// URL' })
  MONGODB_URL?: string;

  @IsOptional() @Matches(/^[A-Za-z0-9_-]{1,38}$/)
  MONGODB_DATABASE = 'gatehouse';

  @IsOptional() @IsIn(['full', 'normal'])
  SQLITE_SYNCHRONOUS: 'full' | 'normal' = 'full';

  /** R-SYS-1: the org whose admins administer every org (created with `npm run cli -- create-system-org`). */
  @IsOptional() @IsUUID()
  SYSTEM_ADMIN_ORG?: string;

  /** `open`: anyone may create an organization (the embedded default); `closed`: system admins only. */
  @IsOptional() @IsIn(['open', 'closed'])
  SIGNUP: 'open' | 'closed' = 'open';

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(24 * 30)
  SESSION_TTL_HOURS = 12;

  /** 32 bytes, base64: seals secrets kept for later (TOTP). Without it, a key file is created in DATA_DIR. */
  @IsOptional() @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'SECRET_KEY must be 32 bytes in base64 (e.g. openssl rand -base64 32)' })
  SECRET_KEY?: string;

  /** R-CRED-10: the shared secret of the upstream gateway that sends verified external identities. Unset: the endpoint is off. */
  @IsOptional() @IsString() @Matches(/^.{32,200}$/, { message: 'IDENTITY_GATEWAY_KEY must be 32 to 200 characters' })
  IDENTITY_GATEWAY_KEY?: string;

  /** Base of the links in emails. */
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true })
  PUBLIC_URL?: string;

  /** `off`: this process sends no email and no Stripe call (operator commands; a second process beside the service). */
  @IsOptional() @IsIn(['on', 'off'])
  CONSUMERS: 'on' | 'off' = 'on';

  /** Kafka brokers (host:port, comma-separated): events are published to gatehouse.events. Unset: no Kafka. */
  @IsOptional() @Matches(/^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/, { message: 'KAFKA_BROKERS must be host:port[,host:port…]' })
  KAFKA_BROKERS?: string;

  /** Topics are `<prefix>.events`, `<prefix>.commands`, `<prefix>.dead-letters`; consumer groups start with it too. */
  @IsOptional() @Matches(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/, { message: 'KAFKA_TOPIC_PREFIX must be letters, digits, dots, dashes or underscores' })
  KAFKA_TOPIC_PREFIX = 'gatehouse';

  /** Partitions of the topics Gatehouse creates (an org's events always share one). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  KAFKA_PARTITIONS = 6;

  /** Tries of an email or Stripe call before it goes to the dead letters (R-BILL-3); the wait doubles from CONSUMER_RETRY_MS. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(20)
  CONSUMER_MAX_TRIES = 6;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(60_000)
  CONSUMER_RETRY_MS = 500;

  /** Sends email through Postmark's templates; unset, emails go to the mailbox folder in DATA_DIR. */
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9-]{8,100}$/, { message: 'POSTMARK_SERVER_TOKEN must be a Postmark server token' })
  POSTMARK_SERVER_TOKEN?: string;

  /** Postmark's API base, for a proxy or a test double (default https://api.postmarkapp.com). */
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true })
  POSTMARK_API_URL?: string;

  @IsOptional() @IsString()
  MAIL_FROM = 'Gatehouse <no-reply@gatehouse.local>';

  /** Seat changes go to Stripe when set; unset, they are skipped with a log line. */
  @IsOptional() @IsString() @Matches(/^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$/, { message: 'STRIPE_SECRET_KEY must be a Stripe secret or restricted key (sk_… or rk_…)' })
  STRIPE_SECRET_KEY?: string;

  /** Stripe's API base, for a proxy or a test double (default https://api.stripe.com). */
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true })
  STRIPE_API_URL?: string;

  @IsOptional() @IsIn(['json', 'text'])
  LOG_FORMAT: 'json' | 'text' = 'json';

  /** A bearer token /metrics asks for when set (a secret: never printed). Unset: /metrics is open. */
  @IsOptional() @Matches(/^[\x21-\x7e]{16,200}$/, { message: 'METRICS_TOKEN must be 16 to 200 printable ASCII characters (e.g. openssl rand -hex 32)' })
  METRICS_TOKEN?: string;

  /** Serve /metrics on this port only, not on PORT. Unset: on PORT. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(65535)
  METRICS_PORT?: number;

  get dataDir(): string {
    return resolve(this.DATA_DIR);
  }

  get publicUrl(): string {
    return this.PUBLIC_URL ?? `http://localhost:${this.PORT}`;
  }
}

export class InvalidConfiguration extends Error {}

const SECRETS = new Set(['METRICS_TOKEN', 'SECRET_KEY', 'IDENTITY_GATEWAY_KEY', 'POSTMARK_SERVER_TOKEN', 'STRIPE_SECRET_KEY']);

export function loadSettings(env: Record<string, string | undefined>): Settings {
  const known = Object.keys(new Settings()).concat(['POSTGRES_URL', 'EVENTSTORE_URL', 'PUBLIC_URL', 'MONGODB_URL', 'SECRET_KEY', 'IDENTITY_GATEWAY_KEY', 'SYSTEM_ADMIN_ORG', 'POSTMARK_SERVER_TOKEN', 'POSTMARK_API_URL', 'STRIPE_SECRET_KEY', 'STRIPE_API_URL', 'KAFKA_BROKERS', 'METRICS_TOKEN', 'METRICS_PORT']);
  const relevant = Object.fromEntries(Object.entries(env).filter(([k, v]) => known.includes(k) && v !== undefined && v !== ''));
  const settings = plainToInstance(Settings, relevant);
  const errors = validateSync(settings, { forbidUnknownValues: false });
  if (errors.length > 0) {
    // A secret's value is never printed, not even a wrong one.
    const shown = (e: { property: string; value?: unknown }) => (SECRETS.has(e.property) ? '(hidden)' : JSON.stringify(e.value ?? ''));
    const lines = errors.flatMap((e) => Object.values(e.constraints ?? {}).map((m) => `  ${e.property}=${shown(e)}: ${m}`));
    throw new InvalidConfiguration(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return settings;
}
