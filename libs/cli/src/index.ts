/**
 * @pagemesh/cli: the pagemesh command (up, status, start, bench; replay and conform to come).
 */
export { buildProgram, runCli } from './program';
export { startLocalStack, StackStartError } from './stack/local-stack';
export type { LocalStackOptions, RunningStack, StackMember } from './stack/local-stack';
export {
  SERVICES,
  DEFAULT_BASE_PORT,
  defaultAddresses,
  parseAddressList,
  serviceSpec,
} from './stack/service-table';
export type { ServiceName, ServiceSpec } from './stack/service-table';
export type { Benchmark, BenchResult } from './bench/benchmark';
