import { KafkaBus } from '../../infra/messaging/kafka';
import { messageBusContract } from './message-bus.contract';

// KAFKA_BROKERS is set by the test rig (a KRaft broker from Maven Central's jars) or given from outside.
messageBusContract(
  'kafka',
  async (topicPrefix) => {
    const brokers = process.env.KAFKA_BROKERS;
    if (!brokers) throw new Error('KAFKA_BROKERS is not set: the test rig should have started Kafka');
    return new KafkaBus({ brokers }, { topicPrefix, partitions: 3, clientId: 'contract' });
  },
  // A port nothing listens on.
  () => new KafkaBus({ brokers: '127.0.0.1:1' }, { topicPrefix: 'unused', partitions: 1 }),
);
