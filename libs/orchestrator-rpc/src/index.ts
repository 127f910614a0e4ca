/**
 * @pagemesh/orchestrator-rpc: the orchestrator over gRPC (the built-in workloads today; replay
 * streaming to come).
 */
export { orchestratorHandlers } from './server';
