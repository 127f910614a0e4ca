/**
 * @pagemesh/orchestrator-rpc: the orchestrator over gRPC: the OrchestratorService handlers (the
 * built-in workloads, Replay), and the replay engine's Stack over the services' clients: the
 * `grpc` transport of `pagemesh replay` (services started for each workload) and the address-list
 * transport (services already running).
 */
export { orchestratorHandlers } from './server';
export { replayHandler, requestedWorkload, replayResult, failureLines } from './replay-handler';
export type { ReplayServiceOptions } from './replay-handler';
export {
  grpcStack,
  grpcStackFactory,
  grpcVmaManagerPort,
  grpcMmuPort,
  grpcPageAllocatorView,
  grpcDeviceDriversPort,
  machineServiceArgs,
} from './grpc-stack';
export type { StartServices, StartedServices, StackServiceName } from './grpc-stack';
export {
  remoteStackFactory,
  probeRemoteMachine,
  machineDifferences,
  formatAddresses,
  RemoteStackError,
  LOWER_SERVICES,
} from './remote-stack';
export type { RemoteAddresses, RemoteMachine, RemoteStackOptions, LowerServiceName } from './remote-stack';
