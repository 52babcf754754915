import { plainToInstance, Transform } from 'class-transformer';
import { getMetadataStorage, IsIn, IsInt, IsOptional, IsString, IsUrl, IsUUID, Matches, Max, Min, ValidateBy, ValidateIf, validateSync } from 'class-validator';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { KafkaConnection } from '../../infra/messaging/kafka';
import { maskUrl, warningsFor } from './settings-hygiene';

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));

/** Every setting Gatehouse reads, validated at start: a wrong value stops start-up with a clear message. */
export class Settings {
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 3000;

  @IsOptional() @IsString()
  HOST = '0.0.0.0';

  /**
   * Whose `X-Forwarded-For` counts (Fastify's `trustProxy`): `true` (every hop), a hop count, or
   * comma-separated addresses/CIDRs of the proxies. Off by default: the peer's address is the client's.
   */
  @IsOptional() @ValidateBy({ name: 'trustProxy', validator: { validate: (v: unknown) => typeof v === 'string' && trustProxyOf(v) !== undefined } }, { message: 'TRUST_PROXY must be true, false, a hop count, or comma-separated addresses/CIDRs (or loopback, linklocal, uniquelocal)' })
  TRUST_PROXY?: string;

  /** Where the embedded stores and the mailbox live. */
  @IsOptional() @IsString()
  DATA_DIR = './data';

  @IsOptional() @IsIn(['sqlite', 'postgres', 'eventstoredb'])
  EVENT_STORE: 'sqlite' | 'postgres' | 'eventstoredb' = 'sqlite';

  @ValidateIf((s: Settings) => s.EVENT_STORE === 'postgres')
  @IsUrl({ protocols: ['postgres', 'postgresql'], require_tld: false, require_protocol: true }, { message: 'POSTGRES_URL must be a postgres:// URL when EVENT_STORE=postgres' })
  POSTGRES_URL?: string;

  @ValidateIf((s: Settings) => s.EVENT_STORE === 'eventstoredb')
  @IsString({ message: 'EVENTSTORE_URL must be set when EVENT_STORE=eventstoredb (e.g. kurrentdb://localhost:2113?tls=false)' })
  @Matches(/^(kurrentdb|kurrent|kdb|esdb)(\+discover)?:\/\/[^\s]+$/, { message: 'EVENTSTORE_URL must be a kurrentdb:// or kurrentdb+discover:// connection string (esdb:// still works)' })
  @ValidateBy({ name: 'esdbOptions', validator: { validate: (v: unknown) => typeof v !== 'string' || esdbProblem(v) === undefined, defaultMessage: (a) => `EVENTSTORE_URL ${esdbProblem(String(a?.value))}` } })
  EVENTSTORE_URL?: string;

  /** Put before every stream name on EventStoreDB/KurrentDB, so several deployments can share one cluster (e.g. `gatehouse-prod-`). */
  @IsOptional() @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}$/, { message: 'EVENTSTORE_STREAM_PREFIX must be 1–40 letters, digits, _ . : -, starting with a letter or digit' })
  EVENTSTORE_STREAM_PREFIX?: string;

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

  /**
   * 32 bytes, base64: seals what Gatehouse reads back later (each person's data key,
   * TOTP secrets, link tokens). Required with a shared event store, whose replicas
   * must all open the same keys (and a key file in a pod's DATA_DIR would lose every
   * person's data with the pod); on the embedded default a key file is made in DATA_DIR.
   */
  @ValidateIf((s: Settings) => s.EVENT_STORE !== 'sqlite' || s.SECRET_KEY !== undefined)
  @IsString({ message: 'SECRET_KEY must be set when EVENT_STORE is postgres or eventstoredb: every replica seals and opens the same keys (e.g. openssl rand -base64 32)' })
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'SECRET_KEY must be 32 bytes in base64 (e.g. openssl rand -base64 32)' })
  SECRET_KEY?: string;

  /** R-CRED-10: the shared secret of the upstream gateway that sends verified external identities. Unset: the endpoint is off. */
  @IsOptional() @IsString() @Matches(/^.{32,200}$/, { message: 'IDENTITY_GATEWAY_KEY must be 32 to 200 characters' })
  IDENTITY_GATEWAY_KEY?: string;

  /** Base of the links in emails. */
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true })
  PUBLIC_URL?: string;

  /** Origins a browser UI may call the API from (CORS), comma-separated, e.g. `https://console.example.com`; unset: none. */
  @IsOptional() @Matches(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(,https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?)*$/, { message: 'CORS_ORIGINS must be origins like https://console.example.com, comma-separated (no path, no wildcard)' })
  CORS_ORIGINS?: string;

  /** Finished bulk imports (SPEC 5.6) and their per-row reports are removed this many days after they finish. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3650)
  IMPORT_RETENTION_DAYS = 7;

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

  /** TLS to the brokers: `true`, `false`, or the path of a PEM file of the CA to trust (managed clusters with their own CA). */
  @IsOptional() @ValidateBy({ name: 'kafkaSsl', validator: { validate: (v: unknown) => v === 'true' || v === 'false' || (typeof v === 'string' && isReadableFile(v)) } }, { message: 'KAFKA_SSL must be true, false, or the path of a readable CA file (PEM)' })
  KAFKA_SSL?: string;

  /** SASL to the brokers; with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD. Unset: no SASL. */
  @ValidateIf((s: Settings) => s.KAFKA_SASL_MECHANISM !== undefined || s.KAFKA_SASL_USERNAME !== undefined || s.KAFKA_SASL_PASSWORD !== undefined)
  @IsIn(['plain', 'scram-sha-256', 'scram-sha-512'], { message: 'KAFKA_SASL_MECHANISM must be plain, scram-sha-256 or scram-sha-512 (and set when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is)' })
  KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512';

  @ValidateIf((s: Settings) => s.KAFKA_SASL_MECHANISM !== undefined || s.KAFKA_SASL_USERNAME !== undefined)
  @IsString({ message: 'KAFKA_SASL_USERNAME must be set when KAFKA_SASL_MECHANISM is' })
  KAFKA_SASL_USERNAME?: string;

  /** A secret: never printed. */
  @ValidateIf((s: Settings) => s.KAFKA_SASL_MECHANISM !== undefined || s.KAFKA_SASL_PASSWORD !== undefined)
  @IsString({ message: 'KAFKA_SASL_PASSWORD must be set when KAFKA_SASL_MECHANISM is' })
  KAFKA_SASL_PASSWORD?: string;

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

  /** The least severe level logged; a value not in the list is warned about and `info` is used. */
  @IsOptional() @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value.toLowerCase()) ? value.toLowerCase() : 'info'))
  LOG_LEVEL: LogLevel = 'info';

  /** A bearer token /metrics asks for when set (a secret: never printed). Unset: /metrics is open. */
  @IsOptional() @Matches(/^[\x21-\x7e]{16,200}$/, { message: 'METRICS_TOKEN must be 16 to 200 printable ASCII characters (e.g. openssl rand -hex 32)' })
  METRICS_TOKEN?: string;

  /** Serve /metrics on this port only, not on PORT. Unset: on PORT. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(65535)
  METRICS_PORT?: number;

  /** Where traces go over OTLP/HTTP (`<endpoint>/v1/traces`). Unset: tracing is off (src/shared/tracing.ts). */
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'], allow_underscores: true })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  /** The traces' service name; `gatehouse` unless set. */
  @IsOptional() @IsString()
  OTEL_SERVICE_NAME?: string;

  /** Readiness (/health) fails while a background worker (projection, consumer, publisher, grant expiry) is behind the log by more than this. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(86_400)
  HEALTH_MAX_LAG_SECONDS = 30;

  /**
   * The term of a lease (each projection, the publisher, grant expiry, each consumer that follows
   * the log runs in one replica at a time): renewed every third of it; another replica takes over
   * within about this long after the holder dies.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(300)
  LEASE_TTL_SECONDS = 6;

  /** TRUST_PROXY as Fastify's `trustProxy` takes it. */
  get trustProxy(): boolean | number | string[] {
    return this.TRUST_PROXY === undefined ? false : trustProxyOf(this.TRUST_PROXY)!;
  }

  /** How every Kafka client Gatehouse makes reaches the brokers (KAFKA_BROKERS must be set). */
  get kafka(): KafkaConnection {
    const ssl = this.KAFKA_SSL === undefined || this.KAFKA_SSL === 'false' ? undefined : this.KAFKA_SSL === 'true' ? true : { ca: [readFileSync(this.KAFKA_SSL, 'utf8')] };
    const sasl = this.KAFKA_SASL_MECHANISM ? { mechanism: this.KAFKA_SASL_MECHANISM, username: this.KAFKA_SASL_USERNAME!, password: this.KAFKA_SASL_PASSWORD! } : undefined;
    return { brokers: this.KAFKA_BROKERS ?? '', ...(ssl ? { ssl } : {}), ...(sasl ? { sasl } : {}) };
  }

  get dataDir(): string {
    return resolve(this.DATA_DIR);
  }

  get corsOrigins(): string[] {
    return this.CORS_ORIGINS ? this.CORS_ORIGINS.split(',') : [];
  }

  get publicUrl(): string {
    return this.PUBLIC_URL ?? `http://localhost:${this.PORT}`;
  }
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class InvalidConfiguration extends Error {}

/** Settings whose values are secrets: never printed, not even a wrong one. */
export const SECRETS = new Set(['METRICS_TOKEN', 'SECRET_KEY', 'IDENTITY_GATEWAY_KEY', 'POSTMARK_SERVER_TOKEN', 'STRIPE_SECRET_KEY', 'KAFKA_SASL_PASSWORD']);
/** Settings that are URLs: printed with their password (and any secret-looking query parameter) masked. */
const URLS = new Set(['POSTGRES_URL', 'MONGODB_URL', 'EVENTSTORE_URL', 'PUBLIC_URL', 'POSTMARK_API_URL', 'STRIPE_API_URL']);

/** The names of every setting (each has at least one decorator). */
export function knownSettings(): string[] {
  const properties = getMetadataStorage()
    .getTargetValidationMetadatas(Settings, '', true, false)
    .map((m) => m.propertyName);
  return [...new Set(properties)];
}

/** A setting's value as it may be printed (errors, logs): secrets hidden, URL credentials masked. */
export function printable(name: string, value: unknown): string {
  if (value === undefined || value === null || value === '') return '""';
  if (SECRETS.has(name)) return '(hidden)';
  const text = String(value);
  if (URLS.has(name) || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text) || (name !== 'MAIL_FROM' && text.includes('@'))) return JSON.stringify(maskUrl(text));
  return JSON.stringify(text);
}

/**
 * `text` with every secret setting's value in `env` replaced by `***`, and every URL setting's
 * credentials masked: the last line of defence for errors that quote what they were given.
 */
export function scrubSecrets(text: string, env: Record<string, unknown>): string {
  return secretScrubber(env)?.(text) ?? text;
}

/** scrubSecrets with what to look for worked out once, for a logger that scrubs every line; undefined: nothing to hide. */
export function secretScrubber(env: Record<string, unknown>): ((text: string) => string) | undefined {
  const replacements: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== 'string' || value === '') continue;
    const isUrl = URLS.has(name) || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value);
    if (SECRETS.has(name) && value.length >= 4) replacements.push([value, '***']);
    else if (isUrl && maskUrl(value) !== value) {
      replacements.push([value, maskUrl(value)]);
      for (const part of credentialsIn(value)) if (part.length >= 4) replacements.push([part, '***']);
    }
  }
  if (replacements.length === 0) return undefined;
  return (text) => replacements.reduce((scrubbed, [secret, shown]) => (scrubbed.includes(secret) ? scrubbed.split(secret).join(shown) : scrubbed), text);
}

/** A URL's password as written and as decoded, so a driver's error that quotes either is caught. */
function credentialsIn(url: string): string[] {
  const userinfo = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(.*)@/s.exec(url)?.[1] ?? '';
  const password = userinfo.includes(':') ? userinfo.slice(userinfo.indexOf(':') + 1) : userinfo;
  const parts = [userinfo, password];
  try {
    parts.push(decodeURIComponent(password));
  } catch {
    /* not percent-encoded */
  }
  return parts.filter((p) => p !== '').sort((a, b) => b.length - a.length);
}

export function loadSettings(env: Record<string, string | undefined>, warn: (message: string) => void = () => undefined): Settings {
  const known = knownSettings();
  for (const warning of warningsFor(env, known)) warn(warning);
  if (env.LOG_LEVEL && !(LOG_LEVELS as readonly string[]).includes(env.LOG_LEVEL.toLowerCase())) {
    warn(`LOG_LEVEL=${printable('LOG_LEVEL', env.LOG_LEVEL)} is not one of ${LOG_LEVELS.join(', ')}: using info`);
  }
  const relevant = Object.fromEntries(Object.entries(env).filter(([k, v]) => known.includes(k) && v !== undefined && v !== ''));
  const settings = plainToInstance(Settings, relevant);
  const errors = validateSync(settings, { forbidUnknownValues: false });
  if (errors.length > 0) {
    // A secret's value is never printed, not even a wrong one; a URL's credentials are masked. The value
    // shown is the one given, not the transformed one (a port of "abc" reads "abc", not NaN).
    const lines = errors.flatMap((e) => Object.values(e.constraints ?? {}).map((m) => `  ${e.property}=${printable(e.property, relevant[e.property])}: ${m}`));
    throw new InvalidConfiguration(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return settings;
}

/** The options the EventStoreDB client knows (lower-cased): it prints the whole connection string, password included, for any other. */
const ESDB_OPTIONS = new Set(['nodepreference', 'connectionname', 'tlscafile', 'usercertfile', 'userkeyfile', 'maxdiscoverattempts', 'defaultdeadline', 'discoveryinterval', 'gossiptimeout', 'keepaliveinterval', 'keepalivetimeout', 'tls', 'tlsverifycert', 'throwonappendfailure']);

/** What in an EventStoreDB connection string would make its client print it or misread the password. */
function esdbProblem(url: string): string | undefined {
  if ((url.match(/@/g) ?? []).length > 1) return 'has more than one "@": percent-encode an "@" in the password as %40';
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  for (const pair of query.split('&').filter(Boolean)) {
    const [key, value] = pair.split('=');
    if (!ESDB_OPTIONS.has(key.toLowerCase())) return `has an option the client does not know (${printable('', key)})`;
    if (key.toLowerCase() === 'tlsverifycert' && value === 'false') return 'tlsVerifyCert=false turns certificate checks off: give tlsCAFile instead';
  }
  return undefined;
}

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** `true`, a hop count, or addresses/CIDRs/named ranges; undefined when the value is none of these. */
function trustProxyOf(value: string): boolean | number | string[] | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^\d{1,3}$/.test(v)) return Number(v);
  const entries = v.split(',').map((e) => e.trim());
  return entries.every(isProxyAddress) ? entries : undefined;
}

function isProxyAddress(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address, range, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (range === undefined) return true;
  if (/^\d{1,3}$/.test(range)) return Number(range) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(range) === 4; // a netmask, e.g. 10.0.0.0/255.0.0.0
}

function isReadableFile(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isFile();
  } catch {
    return false;
  }
}
