// The broker starter lives in scripts/rig/, where the benches (built without test/) use it too.
export { startKafka, type RunningKafka, type StartKafkaOptions } from '../../scripts/rig/kafka';
