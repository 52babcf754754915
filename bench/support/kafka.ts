import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';

/**
 * A Kafka broker for the bench: the one given (--brokers or KAFKA_BROKERS), otherwise
 * Apache Kafka 4.1.1 in KRaft mode, one node that is both broker and controller, run
 * from the jars scripts/fetch-kafka.sh caches (the bench does not fetch them). A minimal
 * copy of test/rig/kafka.ts, which the build leaves out.
 */
export interface KafkaTarget {
  brokers: string;
  /** For the report: "Apache Kafka 4.1.1, KRaft single node, …" or "broker from --brokers". */
  description: string;
  stop(): Promise<void>;
  stopSync(): void;
}

const VERSION = '4.1.1';
const JVM_FLAGS = ['-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true'];
const READY_TIMEOUT_MS = 90_000;

export function kafkaCacheDir(): string {
  const cacheRoot = process.env.KAFKA_CACHE || path.join(os.homedir(), '.cache', 'gatehouse');
  return path.join(cacheRoot, `kafka-${VERSION}`);
}

/** The broker, or why there is none. */
export async function kafkaTarget(given?: string): Promise<KafkaTarget | string> {
  const external = given || process.env.KAFKA_BROKERS;
  if (external) return { brokers: external, description: `broker from ${given ? '--brokers' : 'KAFKA_BROKERS'} (${external})`, stop: async () => undefined, stopSync: () => undefined };
  const cache = kafkaCacheDir();
  if (!['.complete', 'log4j2.xml'].every((f) => fs.existsSync(path.join(cache, f)))) {
    return `no broker: no --brokers, no KAFKA_BROKERS and no Kafka jars in ${cache} (fetch them with \`bash scripts/fetch-kafka.sh\`)`;
  }
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-kafka-'));
  let child: ChildProcess | undefined;
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const stop = async () => {
    if (stopped) return;
    const running = child;
    if (running && running.exitCode === null && running.signalCode === null) {
      // No graceful shutdown: the data is thrown away.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10_000);
        running.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        running.kill('SIGKILL');
      });
    }
    stopSync();
  };
  const jvm = (mainClass: string, args: string[]) => [...JVM_FLAGS, `-Dlog4j2.configurationFile=${path.join(cache, 'log4j2.xml')}`, `-Dkafka.logs.dir=${dir}`, '-cp', path.join(cache, 'lib', '*'), mainClass, ...args];
  try {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [port, controllerPort] = await freePorts(2);
      const properties = path.join(dir, 'server.properties');
      fs.writeFileSync(properties, serverProperties(dir, port, controllerPort));
      fs.rmSync(path.join(dir, 'data'), { recursive: true, force: true });
      // `--cluster-id=…`: a base64url id can start with '-', which the tool would read as an option.
      const format = spawnSync(java, jvm('kafka.tools.StorageTool', ['format', `--cluster-id=${randomBytes(16).toString('base64url')}`, '-c', properties, '--standalone']), { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      if (format.status !== 0) return `no broker: Kafka storage format failed (${format.error?.message ?? `exit ${format.status}`}): ${(format.stderr || format.stdout || '').trim().split('\n').slice(-3).join(' / ')}`;
      const out = fs.openSync(path.join(dir, 'kafka.out'), 'a');
      child = spawn(java, jvm('kafka.Kafka', [properties]), { cwd: dir, stdio: ['ignore', out, out] });
      fs.closeSync(out);
      child.on('error', () => undefined);
      const brokers = `127.0.0.1:${port}`;
      if (await ready(child, port, brokers)) {
        return { brokers, description: `Apache Kafka ${VERSION}, KRaft single node (broker and controller), started by the bench in the temp dir (${JVM_FLAGS.join(' ')})`, stop, stopSync };
      }
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const tail = fs.existsSync(path.join(dir, 'kafka.out')) ? fs.readFileSync(path.join(dir, 'kafka.out'), 'utf8').trim().split('\n').slice(-3).join(' / ') : '';
    stopSync();
    return `no broker: Kafka did not start (${tail || 'no log'})`;
  } catch (error) {
    stopSync();
    return `no broker: Kafka did not start (${(error as Error).message})`;
  }
}

/** The test rig's settings (test/rig/kafka.ts), without the ones only a broker kill needs. */
function serverProperties(dir: string, port: number, controllerPort: number): string {
  const properties: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
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
    'group.initial.rebalance.delay.ms': 0,
    'num.network.threads': 2,
    'num.io.threads': 4,
  };
  return `${Object.entries(properties).map(([k, v]) => `${k}=${v}`).join('\n')}\n`;
}

async function ready(child: ChildProcess, port: number, brokers: string): Promise<boolean> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    if (await canConnect(port)) {
      const admin = new Kafka({ clientId: 'gatehouse-bench-probe', brokers: [brokers], logLevel: logLevel.NOTHING, connectionTimeout: 2_000, requestTimeout: 5_000, retry: { retries: 0 } }).admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length > 0) return true;
      } catch {
        // Not yet.
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      server.unref();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}
