/**
 * @pagemesh/orchestrator-rpc: the orchestrator over gRPC: the OrchestratorService handlers (the
 * built-in workloads), and the replay engine's Stack over the services' clients (the `grpc`
 * transport of `pagemesh replay`).
 */
export { orchestratorHandlers } from './server';
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
