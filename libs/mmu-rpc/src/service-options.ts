import { Mmu, type MmuOptions } from '@pagemesh/mmu';
import { MmuServiceService, PageAllocatorServiceClient, protoFile, protoIncludeDir } from '@pagemesh/proto';
import {
  promisifyUnary,
  type ClientPool,
  type ServiceConfig,
  type StartServiceOptions,
} from '@pagemesh/service-kit';
import { grpcPageAllocatorPort } from './page-allocator-port';
import { mmuHandlers } from './server';

/**
 * Boots an mmu against the page-allocator service at `address` (init_mm's tables are built from
 * the frames it hands out). Without `options.cpus` it has the machine's CPUs, the page
 * allocator's nr_cpu_ids (an allocator that predates the field answers 0: the mmu's default).
 * A failure names the page allocator it could not use.
 */
export async function bootMmuOverGrpc(
  address: string,
  pool: ClientPool,
  options: MmuOptions = {},
): Promise<Mmu> {
  const client = pool.client(address, PageAllocatorServiceClient);
  const port = grpcPageAllocatorPort(client);
  const boot = async () => {
    let cpus = options.cpus;
    if (cpus === undefined) {
      const { nrCpus } = await promisifyUnary(client, 'getMachine')({});
      if (nrCpus > 0) cpus = nrCpus;
    }
    return Mmu.boot(port, cpus === undefined ? options : { ...options, cpus });
  };
  return boot().catch((err: unknown) => {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(`cannot boot against the page allocator at ${address}: ${why}`);
  });
}

/** The mmu service over `mmu`: what the app serves, and what tests of the layers above start. */
export function mmuServiceOptions(mmu: Mmu, config: ServiceConfig): StartServiceOptions {
  return {
    name: 'mmu',
    protoFiles: [protoFile('mmu')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: MmuServiceService, implementation: mmuHandlers(mmu) }],
    config,
  };
}
