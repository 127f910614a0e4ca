import { Mmu } from '@pagemesh/mmu';
import { grpcPageAllocatorPort, mmuHandlers } from '@pagemesh/mmu-rpc';
import { MmuServiceService, PageAllocatorServiceClient, protoFile, protoIncludeDir } from '@pagemesh/proto';
import { ClientPool, type ServiceConfig, type StartServiceOptions } from '@pagemesh/service-kit';

/** The services the mmu calls: the page allocator, for page-table frames and RAM. */
export const CALLS = ['page-allocator'] as const;
export const FLAGS = ['page-allocator-address', 'cpus', 'pcid'] as const;

function parseCpus(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text))
    throw new RangeError(`invalid --cpus ${JSON.stringify(text)}: expected a positive integer`);
  return Number(text);
}

/**
 * Boots the mmu against the page-allocator service named by --page-allocator-address (the
 * kernel's page tables are built from frames it hands out) and serves it.
 */
export async function buildMmuService(
  config: ServiceConfig,
  pool = new ClientPool(),
): Promise<StartServiceOptions> {
  const address = config.extra['page-allocator-address'];
  if (!address)
    throw new RangeError('missing --page-allocator-address: the mmu needs the page allocator (host:port)');
  const port = grpcPageAllocatorPort(pool.client(address, PageAllocatorServiceClient));
  const options = { cpus: parseCpus(config.extra['cpus']), pcid: config.extra['pcid'] === 'true' };
  const mmu = await Mmu.boot(port, options).catch((err: unknown) => {
    // Booting builds init_mm's tables from the allocator's frames: say which dependency failed.
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(`cannot boot against the page allocator at ${address}: ${why}`);
  });
  return {
    name: 'mmu',
    protoFiles: [protoFile('mmu')],
    includeDirs: [protoIncludeDir()],
    services: [{ definition: MmuServiceService, implementation: mmuHandlers(mmu) }],
    config,
  };
}
