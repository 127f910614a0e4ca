/**
 * Generated protobuf messages and gRPC service definitions (ts-proto, grpc-js flavour).
 * Everything under ./gen is produced by `npm run proto:gen` from /protos and never edited.
 * 64-bit fields are bigint here; see docs/architecture.md ("64-bit values") for where
 * they become numbers.
 */
export * from './gen/pagemesh/v1/errno';
export * from './gen/pagemesh/v1/gfp';
export * from './gen/pagemesh/v1/page';
export * from './gen/pagemesh/v1/vma';
export * from './gen/pagemesh/v1/paging';
export * from './gen/pagemesh/v1/page_allocator_service';
export * from './gen/pagemesh/v1/mmu_service';
export * from './gen/pagemesh/v1/vma_manager_service';
export * from './gen/pagemesh/v1/device_drivers_service';
export * from './gen/pagemesh/v1/orchestrator_service';
export * from './gen/pagemesh/v1/boundary_service';
export { protoIncludeDir, protoFile, PROTO_FILES } from './proto-files';
