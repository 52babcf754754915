import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidConfiguration, loadSettings, printable, scrubSecrets } from '../../src/config/config';
import { kafkaOptions } from '../../infra/messaging/kafka';
import { scrubbingLogger } from '../../src/config/scrubbing-logger';
import { mainWithoutBuild } from '../support/ts-process';

const ROOT = resolve(__dirname, '../..');


/** Starts Gatehouse with `env` (and nothing else of this process's environment but PATH); its whole output and exit code. */
function start(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, mainWithoutBuild(), { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`still running after ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

/** Every secret a test below sets: none may appear in anything printed. */
function expectNoSecret(output: string, secrets: string[]) {
  for (const secret of secrets) expect({ secret, leaked: output.includes(secret) }).toEqual({ secret, leaked: false });
}

describe('settings that never leak', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-settings-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('a failed start prints no secret setting’s value: every secret-bearing setting malformed at once', async () => {
    const secrets = {
      POSTGRES_URL: 'postgres//gatehouse:pgS3cretPass@db.internal/gatehouse', // "://" forgotten
      MONGODB_URL: 'mongo://reader:M0ngoSecretPw@mongo.internal/gatehouse', // wrong scheme
      SECRET_KEY: 'NotBase64-SecretKeyValue-9f3a7c',
      STRIPE_SECRET_KEY: 'sk_live_!!StripeSecret0001',
      POSTMARK_SERVER_TOKEN: 'pm token WithSpaces-Secret',
      IDENTITY_GATEWAY_KEY: 'gwShortSecret',
      METRICS_TOKEN: 'metrics tok',
      KAFKA_SASL_PASSWORD: 'KafkaSaslSecret-123',
    };
    const { code, output } = await start({ DATA_DIR: dataDir, EVENT_STORE: 'postgres', READ_STORE: 'mongodb', KAFKA_SASL_MECHANISM: 'scram-sha-1024', ...secrets });
    expect(code).toBe(2);
    for (const name of [...Object.keys(secrets).filter((n) => n !== 'KAFKA_SASL_PASSWORD'), 'KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME']) expect(output).toContain(name);
    expectNoSecret(output, [...Object.values(secrets), 'pgS3cretPass', 'M0ngoSecretPw']);
    expect(output).toContain('postgres//***@db.internal/gatehouse'); // where it went wrong stays visible
  });

  it('a failed start prints no secret setting’s value: a malformed EventStoreDB connection string', async () => {
    const { code, output } = await start({ DATA_DIR: dataDir, EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb:/admin:EsdbSecretPw@localhost:2113?tls=false' });
    expect(code).toBe(2);
    expect(output).toContain('EVENTSTORE_URL');
    expectNoSecret(output, ['EsdbSecretPw']);
  });

  it('an EventStoreDB connection string its client would print (an unknown option) or misread (an unencoded "@") is refused, masked', () => {
    for (const [url, problem] of [
      ['esdb://admin:EsdbSecretPw@localhost:2113?tls=false&foo=bar', /option the client does not know \("foo"\)/],
      ['esdb://admin:Esdb@SecretPw@localhost:2113?tls=false', /more than one "@"/],
      ['esdb://admin:EsdbSecretPw@localhost:2113?tlsVerifyCert=false', /tlsVerifyCert=false turns certificate checks off/],
    ] as const) {
      expect(() => loadSettings({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: url })).toThrow(problem);
      expect(() => loadSettings({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: url })).not.toThrow(/SecretPw/);
    }
    expect(loadSettings({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb+discover://admin:changeit@cluster.local:2113?tls=true&tlsCAFile=/ca.pem&nodePreference=leader', SECRET_KEY: Buffer.alloc(32, 3).toString('base64') }).EVENTSTORE_URL).toContain('cluster.local');
    // A shared event store needs the one SECRET_KEY every replica seals and opens personal data keys with.
    expect(() => loadSettings({ EVENT_STORE: 'postgres', POSTGRES_URL: 'postgres://gh@db/x' })).toThrow(/SECRET_KEY must be set when EVENT_STORE is postgres or eventstoredb/);
  });

  it('a failed start prints no secret setting’s value: valid settings, an unreachable PostgreSQL', async () => {
    const secrets = { SECRET_KEY: Buffer.alloc(32, 7).toString('base64'), STRIPE_SECRET_KEY: 'sk_test_StripeSecretValue42', METRICS_TOKEN: 'metrics-token-secret-0123456789' };
    const { code, output } = await start({ DATA_DIR: dataDir, EVENT_STORE: 'postgres', POSTGRES_URL: 'postgres://gatehouse:PgUnreachablePw@127.0.0.1:1/gatehouse', ...secrets });
    expect(code).toBe(1);
    expect(output).toMatch(/start failed/);
    expectNoSecret(output, ['PgUnreachablePw', ...Object.values(secrets)]);
  });

  it('URL credentials are masked however the URL is broken; plain values stay readable', () => {
    expect(printable('POSTGRES_URL', 'postgres://u:s3cret@h/db')).toBe('"postgres://***@h/db"');
    expect(printable('POSTGRES_URL', 'postgres://u:12/34@h/db')).toBe('"postgres://***@h/db"'); // an unencoded "/" in the password
    expect(printable('POSTGRES_URL', 'postgres://u:p@ss:w@rd@h/db')).toBe('"postgres://***@h/db"'); // unencoded "@"s
    expect(printable('POSTGRES_URL', 'postgres://user:secret:h/db')).toBe('"postgres://***"'); // a forgotten "@"
    expect(printable('POSTGRES_URL', 'postgres://h/db?sslmode=require&password=hunter22')).toBe('"postgres://h/db?sslmode=require&password=***"');
    expect(printable('MONGODB_URL', 'mongodb://u:p@a:1,b:2/db')).toBe('"mongodb://***@a:1,b:2/db"');
    expect(printable('PUBLIC_URL', 'https://id.example.com')).toBe('"https://id.example.com"');
    expect(printable('STRIPE_SECRET_KEY', 'sk_live_x')).toBe('(hidden)');
    expect(printable('PORT', 'eighty')).toBe('"eighty"');
  });

  it('anything that quotes a secret setting is scrubbed before it is printed', () => {
    const env = { STRIPE_SECRET_KEY: 'sk_live_abcdefgh1234', POSTGRES_URL: 'postgres://gh:pa%40ss-word@db/x' };
    const text = scrubSecrets('key sk_live_abcdefgh1234 at postgres://gh:pa%40ss-word@db/x, password "pa@ss-word"', env);
    expect(text).not.toMatch(/abcdefgh1234|pa%40ss-word|pa@ss-word/);
    expect(text).toContain('postgres://***@db/x');
  });

  it('the app’s logger scrubs secret settings from every line: text, errors (Nest logs bootstrap errors itself) and objects', () => {
    const lines: unknown[][] = [];
    const capture = { log: (...a: unknown[]) => lines.push(a), error: (...a: unknown[]) => lines.push(a), warn: (...a: unknown[]) => lines.push(a) };
    const settings = loadSettings({ EVENT_STORE: 'postgres', POSTGRES_URL: 'postgres://gh:PgLoggedPw@db/x', STRIPE_SECRET_KEY: 'sk_live_LoggedStripeKey1', SECRET_KEY: Buffer.alloc(32, 3).toString('base64') });
    const logger = scrubbingLogger(capture, settings);
    logger.error(new Error('could not connect to postgres://gh:PgLoggedPw@db/x'));
    logger.warn({ message: 'stripe refused', key: 'sk_live_LoggedStripeKey1' }, 'billing');
    logger.log('password PgLoggedPw was wrong');
    const printed = JSON.stringify(lines.map((args) => args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : a))));
    expect(printed).not.toMatch(/PgLoggedPw|LoggedStripeKey1/);
    expect(printed).toContain('postgres://***@db/x');
    expect(scrubbingLogger(capture, loadSettings({}))).toBe(capture); // nothing secret set: the logger as it is
  });

  it('unknown variables that look like ours are warned about by name, never by value; the environment’s own are not', () => {
    const warnings: string[] = [];
    loadSettings({ EVENTSTORE: 'postgres://u:WarnedSecret@h', KAFKA_BROKER: 'k:9092', kafka_brokers: 'k:9092', GATEHOUSE_MODE: 'x', KAFKA_SASL_PASS: 'WarnedSecret2', HOME: '/root', PATH: '/bin', HOSTNAME: 'pod-1', NODE_ENV: 'production', LOG_LEVEL: 'loud' }, (w) => warnings.push(w));
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^EVENTSTORE .*did you mean EVENT_STORE/),
        expect.stringMatching(/^KAFKA_BROKER .*did you mean KAFKA_BROKERS/),
        expect.stringMatching(/^kafka_brokers .*did you mean KAFKA_BROKERS/),
        expect.stringMatching(/^GATEHOUSE_MODE is not a Gatehouse setting/),
        expect.stringMatching(/^KAFKA_SASL_PASS is not a Gatehouse setting/),
        expect.stringMatching(/^LOG_LEVEL="loud" is not one of .*: using info/),
      ]),
    );
    expect(warnings).toHaveLength(6);
    expect(warnings.join('\n')).not.toMatch(/WarnedSecret/);
  });

  it('a bad LOG_LEVEL is a warning, not a failure', () => {
    expect(loadSettings({ LOG_LEVEL: 'loud' }).LOG_LEVEL).toBe('info');
    expect(loadSettings({ LOG_LEVEL: 'DEBUG' }).LOG_LEVEL).toBe('debug');
  });

  it('TRUST_PROXY takes Fastify’s values and refuses others', () => {
    expect(loadSettings({}).trustProxy).toBe(false);
    expect(loadSettings({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadSettings({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadSettings({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadSettings({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,loopback,fd00::/8,192.168.0.0/255.255.0.0' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1', 'loopback', 'fd00::/8', '192.168.0.0/255.255.0.0']);
    for (const bad of ['yes', '10.0.0.0/33', '10.0.0', 'proxy.internal']) expect(() => loadSettings({ TRUST_PROXY: bad })).toThrow(/TRUST_PROXY must be/);
  });

  describe('Kafka for managed clusters (KAFKA_SSL, KAFKA_SASL_*)', () => {
    it('TLS and SCRAM reach the kafkajs client options; the ServerKafka options use the same connection', () => {
      const settings = loadSettings({ KAFKA_BROKERS: 'b-1.kafka.example:9096,b-2.kafka.example:9096', KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'gatehouse', KAFKA_SASL_PASSWORD: 'scram-secret' });
      expect(kafkaOptions(settings.kafka, 'gatehouse-publisher')).toMatchObject({
        clientId: 'gatehouse-publisher',
        brokers: ['b-1.kafka.example:9096', 'b-2.kafka.example:9096'],
        ssl: true,
        sasl: { mechanism: 'scram-sha-512', username: 'gatehouse', password: 'scram-secret' },
      });
    });

    it('a CA file for KAFKA_SSL is trusted; plain SASL without TLS is allowed', () => {
      const ca = join(dataDir, 'ca.pem');
      writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      expect(kafkaOptions(loadSettings({ KAFKA_BROKERS: 'k:9093', KAFKA_SSL: ca }).kafka, 'x').ssl).toEqual({ ca: [expect.stringContaining('BEGIN CERTIFICATE')] });
      const plain = kafkaOptions(loadSettings({ KAFKA_BROKERS: 'k:9092', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }).kafka, 'x');
      expect(plain).toMatchObject({ sasl: { mechanism: 'plain' } });
      expect(plain.ssl).toBeUndefined();
    });

    it('without them the options are as before: no TLS, no SASL', () => {
      const options = kafkaOptions(loadSettings({ KAFKA_BROKERS: 'k:9092' }).kafka, 'x');
      expect(options.ssl).toBeUndefined();
      expect(options.sasl).toBeUndefined();
    });

    it('a mechanism needs a username and a password; a wrong KAFKA_SSL or mechanism is named, the password never printed', () => {
      const message = (env: Record<string, string>) => {
        try {
          loadSettings(env);
          return '';
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidConfiguration);
          return (error as Error).message;
        }
      };
      expect(message({ KAFKA_SASL_MECHANISM: 'scram-sha-256' })).toMatch(/KAFKA_SASL_USERNAME.*must be set[^]*KAFKA_SASL_PASSWORD.*must be set/);
      expect(message({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'NeverShown1' })).toMatch(/KAFKA_SASL_MECHANISM="gssapi": KAFKA_SASL_MECHANISM must be plain, scram-sha-256 or scram-sha-512/);
      expect(message({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'NeverShown1' })).toMatch(/KAFKA_SASL_MECHANISM="": KAFKA_SASL_MECHANISM must be plain/); // not silently without SASL
      expect(message({ KAFKA_SSL: '/no/such/ca.pem' })).toMatch(/KAFKA_SSL must be true, false, or the path of a readable CA file/);
      expect(message({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_PASSWORD: 'NeverShown1' })).not.toContain('NeverShown1');
    });
  });
});
