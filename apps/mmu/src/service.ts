import { bootMmuOverGrpc, mmuServiceOptions } from '@pagemesh/mmu-rpc';
import { ClientPool, type ServiceConfig, type StartServiceOptions } from '@pagemesh/service-kit';

/** The services the mmu calls: the page allocator, for page-table frames and RAM. */
export const CALLS = ['page-allocator'] as const;
export const FLAGS = ['page-allocator-address', 'cpus', 'pcid', 'tlb-entries'] as const;

/** Ways of the 4 KiB TLB that --tlb-entries sizes (the mmu's default geometry is 4-way). */
export const TLB_WAYS = 4;

function parseCpus(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text))
    throw new RangeError(`invalid --cpus ${JSON.stringify(text)}: expected a positive integer`);
  return Number(text);
}

function parseTlbEntries(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) === 0 || Number(text) % TLB_WAYS !== 0)
    throw new RangeError(
      `invalid --tlb-entries ${JSON.stringify(text)}: expected a positive multiple of ${TLB_WAYS} (the 4 KiB TLB is ${TLB_WAYS}-way)`,
    );
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
  const entries = parseTlbEntries(config.extra['tlb-entries']);
  const options = {
    cpus: parseCpus(config.extra['cpus']),
    pcid: config.extra['pcid'] === 'true',
    // --tlb-entries sizes the 4 KiB TLB of each CPU, TLB_WAYS-way (as the in-process replay stack)
    ...(entries === undefined ? {} : { tlb: { small: { entries, ways: TLB_WAYS } } }),
  };
  return mmuServiceOptions(await bootMmuOverGrpc(address, pool, options), config);
}
