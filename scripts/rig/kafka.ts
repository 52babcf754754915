import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import {
  createOwnedTempDir,
  freePorts,
  killAndWaitSync,
  killRecordedServer,
  reapStaleDirs,
  runScriptToStderr,
  scriptPath,
  tail,
  waitUntilReady,
  type StartFailure,
} from './processes';

/**
 * A real Apache Kafka broker (KRaft, one node that is both broker and controller), run
 * from the jars scripts/fetch-kafka.sh takes from Maven Central (see /work/shared/RIG.md).
 */
export interface RunningKafka {
  /** host:port, comma-separated when KAFKA_BROKERS lists several. */
  brokers: string;
  /** Whether this process started the broker (false: it came from KAFKA_BROKERS). */
  started: boolean;
  /** e.g. "Apache Kafka 4.1.1, KRaft single node" or "from KAFKA_BROKERS" */
  description: string;
  /** Stops the broker and deletes its data. Safe to call twice, and after kill(). */
  stop(): Promise<void>;
  /** Same as stop(), for process 'exit' and signal handlers, which cannot await. */
  stopSync(): void;
  /** SIGKILL, as a crash would; resolves once the JVM is reaped. Its data stays for restart(). */
  kill(): Promise<void>;
  /**
   * Starts the broker again on the same ports and data (killing it first if it still
   * runs); resolves once it answers clients again.
   */
  restart(): Promise<void>;
}

export interface StartKafkaOptions {
  /**
   * Start a broker of this process's own even when KAFKA_BROKERS is set. For a test that
   * kills or restarts the broker: the shared one from the global setup cannot be
   * controlled from a test worker, and other suites use it.
   */
  own?: boolean;
}

export const KAFKA_VERSION = '4.1.1';

const DIR_PREFIX = 'gatehouse-kafka-rig-';
const SERVER_PID_FILE = 'kafka.pid';
const MAIN_CLASS = 'kafka.Kafka';
const NODE_ID = 1;
// A JVM start is 2-13 s on 2 busy cores; a restart also waits out the old broker session (3 s).
const READY_TIMEOUT_MS = 90_000;
const FETCH_SCRIPT = scriptPath('fetch-kafka.sh');
// SerialGC and C1 only start ~40 % faster on 2 cores; 512 MB is plenty for tests.
export const KAFKA_JVM_FLAGS = ['-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true'];

const HOW_TO_FIX =
  'Install Java 17+ and Maven (Debian/Ubuntu: apt-get install -y default-jre-headless maven) and run ' +
  '`bash scripts/fetch-kafka.sh` (once per machine, ~5-40 s), or point the tests at an existing broker ' +
  'with KAFKA_BROKERS=host:9092 (a test that kills and restarts the broker still needs Java).';

/** Where scripts/fetch-kafka.sh caches the jars and the log config; keep the two in step. */
export function kafkaCacheDir(): string {
  const cacheRoot = process.env.KAFKA_CACHE || path.join(os.homedir(), '.cache', 'gatehouse');
  return path.join(cacheRoot, `kafka-${KAFKA_VERSION}`);
}

/** Whether scripts/fetch-kafka.sh has cached the jars, so startKafka() will not fetch them. */
export function kafkaJarsCached(): boolean {
  return ['.complete', 'log4j2.xml'].every((f) => fs.existsSync(path.join(kafkaCacheDir(), f)));
}

/**
 * Uses KAFKA_BROKERS when set (unless `own`); otherwise starts a broker in a temp dir on
 * free 127.0.0.1 ports, fetching the jars first if they are not cached yet.
 */
export async function startKafka(options: StartKafkaOptions = {}): Promise<RunningKafka> {
  const external = process.env.KAFKA_BROKERS;
  if (external && !options.own) {
    const notOurs = async () => {
      throw new Error(
        `The Kafka broker at ${external} came from KAFKA_BROKERS, so this rig cannot kill or restart it. ` +
          'A test that does needs a broker the rig starts for it: startKafka({ own: true }). ' +
          HOW_TO_FIX,
      );
    };
    return {
      brokers: external,
      started: false,
      description: 'from KAFKA_BROKERS',
      stop: async () => undefined,
      stopSync: () => undefined,
      kill: notOurs,
      restart: notOurs,
    };
  }

  const cache = await ensureJars();
  reapStaleServers();

  const dir = createOwnedTempDir(DIR_PREFIX);
  const broker: Broker = { dir, cache, port: 0, child: undefined };

  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    if (broker.child) killAndWaitSync(broker.child, 5_000);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const kill = async () => {
    if (stopped) throw new Error('This Kafka broker was stopped, and stop() deleted its data: start a new one.');
    if (broker.child) await killAndWait(broker.child);
  };

  try {
    // The free ports are only free until someone else takes them: retry with new ones.
    for (let attempt = 1; ; attempt++) {
      const [port, controllerPort] = await freePorts(2);
      broker.port = port;
      writeServerProperties(dir, port, controllerPort);
      // --standalone writes the controller's address into the data: format again for new ports.
      fs.rmSync(path.join(dir, 'data'), { recursive: true, force: true });
      await formatStorage(broker);
      const failure = await launch(broker);
      if (!failure) break;
      await killAndWait(broker.child!);
      if (attempt >= 3 || !failure.exited) {
        // The temp dir (logs included) is removed below: quote the logs now.
        throw new Error(`Kafka did not start: ${failure.reason}\n${logs(dir)}\n${HOW_TO_FIX}`);
      }
    }
  } catch (err) {
    stopSync();
    throw err;
  }

  return {
    brokers: `127.0.0.1:${broker.port}`,
    started: true,
    description: `Apache Kafka ${KAFKA_VERSION}, KRaft single node`,
    stop: async () => {
      if (stopped) return;
      // No graceful shutdown: the data is thrown away, and a controlled shutdown takes seconds.
      if (broker.child) await killAndWait(broker.child);
      stopSync();
    },
    stopSync,
    kill,
    async restart() {
      await kill();
      const failure = await launch(broker);
      if (failure) {
        await killAndWait(broker.child!);
        throw new Error(
          `Kafka did not start again on 127.0.0.1:${broker.port}: ${failure.reason}\n${logs(dir)}`,
        );
      }
    },
  };
}

interface Broker {
  dir: string;
  cache: string;
  port: number;
  child: ChildProcess | undefined;
}

async function ensureJars(): Promise<string> {
  const cache = kafkaCacheDir();
  if (kafkaJarsCached()) return cache;

  process.stderr.write(
    `\n[rig] Kafka jars not found in ${cache}: fetching them now with ${path.relative(process.cwd(), FETCH_SCRIPT)} ` +
      '(once per machine, ~5-40 s)...\n',
  );
  const status = await runScriptToStderr(FETCH_SCRIPT);
  if (status !== 0 || !kafkaJarsCached()) {
    throw new Error(
      `Kafka (the broker the tests use) is not available: ${FETCH_SCRIPT} failed ` +
        `(${typeof status === 'number' ? `exit ${status}` : status}; its output is above). ${HOW_TO_FIX}`,
    );
  }
  return cache;
}

function writeServerProperties(dir: string, port: number, controllerPort: number): void {
  const properties = {
    'process.roles': 'broker,controller',
    'node.id': NODE_ID,
    'controller.quorum.bootstrap.servers': `127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': path.join(dir, 'data'),
    'num.partitions': 4,
    'auto.create.topics.enable': true,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 4,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // Consumers join at once instead of waiting 3 s for more members.
    'group.initial.rebalance.delay.ms': 0,
    // Without these two, a SIGKILLed broker is refused re-registration for ~9 s.
    'broker.session.timeout.ms': 3_000,
    'broker.heartbeat.interval.ms': 500,
    'num.network.threads': 2,
    'num.io.threads': 4,
    'log.segment.bytes': 16 * 1024 * 1024,
  };
  const text = Object.entries(properties)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n');
  fs.writeFileSync(path.join(dir, 'server.properties'), `${text}\n`);
}

function javaCommand(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

function javaArgs(broker: Broker, mainClass: string, args: string[]): string[] {
  return [
    ...KAFKA_JVM_FLAGS,
    `-Dlog4j2.configurationFile=${path.join(broker.cache, 'log4j2.xml')}`,
    `-Dkafka.logs.dir=${broker.dir}`,
    '-cp',
    path.join(broker.cache, 'lib', '*'),
    mainClass,
    ...args,
  ];
}

async function formatStorage(broker: Broker): Promise<void> {
  // A cluster id is 16 random bytes in base64url: 22 characters.
  const clusterId = randomBytes(16).toString('base64url');
  const args = javaArgs(broker, 'kafka.tools.StorageTool', [
    'format',
    // One argument: an id that starts with '-' (1 in 64) would be read as an option otherwise.
    `--cluster-id=${clusterId}`,
    '-c',
    path.join(broker.dir, 'server.properties'),
    '--standalone',
  ]);
  const result = await new Promise<{ status: number | string; output: string }>((resolve) => {
    const format = spawn(javaCommand(), args, { cwd: broker.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    format.stdout.on('data', (chunk) => (output += chunk));
    format.stderr.on('data', (chunk) => (output += chunk));
    format.once('error', (err) => resolve({ status: `it could not be run: ${err.message}`, output }));
    format.once('close', (code, signal) => resolve({ status: code ?? `signal ${signal}`, output }));
  });
  if (result.status !== 0) {
    const status = typeof result.status === 'number' ? `exit ${result.status}` : result.status;
    const lines = [`Kafka storage format failed (${status}):`, result.output.trim(), HOW_TO_FIX];
    throw new Error(lines.filter(Boolean).join('\n'));
  }
}

/** Spawns the broker into broker.child; resolves undefined once ready, or why it is not. */
async function launch(broker: Broker): Promise<StartFailure | undefined> {
  const out = fs.openSync(path.join(broker.dir, 'kafka.out'), 'a');
  try {
    broker.child = spawn(
      javaCommand(),
      javaArgs(broker, MAIN_CLASS, [path.join(broker.dir, 'server.properties')]),
      { cwd: broker.dir, stdio: ['ignore', out, out] },
    );
  } finally {
    fs.closeSync(out);
  }
  // Not referenced: stop() (or the exit handlers) ends it; it must not keep Jest alive.
  broker.child.unref();
  broker.child.on('error', () => undefined); // surfaced by waitUntilReady
  if (broker.child.pid) fs.writeFileSync(path.join(broker.dir, SERVER_PID_FILE), String(broker.child.pid));
  // The broker opens its client port only once it is registered and unfenced.
  return waitUntilReady(broker.child, broker.port, READY_TIMEOUT_MS, () => askForMetadata(`127.0.0.1:${broker.port}`));
}

/** Succeeds once a kafkajs admin client sees this broker in the cluster. */
async function askForMetadata(address: string): Promise<void> {
  const admin = new Kafka({
    clientId: 'gatehouse-rig-probe',
    brokers: [address],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  }).admin();
  // If the broker dies mid-call, kafkajs can reject a promise nobody awaits (RIG.md:
  // an unhandled ECONNRESET). Everything here is awaited, raced with a deadline, and the
  // disconnect's own failure is swallowed.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no metadata answer within 10 s')), 10_000);
  });
  const probe = (async () => {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (!cluster.brokers.some((b) => b.nodeId === NODE_ID)) {
      throw new Error(`the broker is not in its own cluster metadata yet (${JSON.stringify(cluster.brokers)})`);
    }
    await admin.listTopics();
  })();
  probe.catch(() => undefined); // lost to the deadline: not unhandled
  try {
    await Promise.race([probe, deadline]);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}

/** SIGKILL and wait until Node has reaped the JVM, so its ports, data-dir lock and memory are free. */
async function killAndWait(child: ChildProcess): Promise<void> {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
  const pid = child.pid;
  // The timer (referenced) also keeps the loop alive while we wait for the unref'd child.
  const exited = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
    child.kill('SIGKILL');
  });
  if (!exited) throw new Error(`the Kafka JVM (pid ${pid}) did not exit within 10 s of SIGKILL`);
}

/** Stops brokers left behind by runs (or test workers) that died before stopping them. */
function reapStaleServers(): void {
  reapStaleDirs(DIR_PREFIX, (dir) =>
    killRecordedServer(
      path.join(dir, SERVER_PID_FILE),
      // Still this broker: the pid may have been reused.
      (cmdline) => cmdline.includes(MAIN_CLASS) && cmdline.includes(dir),
      5_000,
    ),
  );
}

function logs(dir: string): string {
  return [
    `--- ${path.join(dir, 'server.log')} ---`,
    tail(path.join(dir, 'server.log')),
    '--- its stdout/stderr ---',
    tail(path.join(dir, 'kafka.out')),
  ].join('\n');
}
