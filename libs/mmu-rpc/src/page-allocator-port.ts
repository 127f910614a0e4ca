import type { MachineInfo, PageAllocatorPort, PhysOp } from '@pagemesh/mmu';
import { PageOpsStream, toBigints, toNumbers } from '@pagemesh/page-allocator-rpc';
import {
  AllocPagesRequest,
  Arch,
  Errno,
  FreePagesRequest,
  PageUse,
  type PageAllocatorServiceClient,
} from '@pagemesh/proto';
import { promisifyUnary } from '@pagemesh/service-kit';
import { TransferStream } from './transfer-stream';

/** GFP_PGTABLE_KERNEL = GFP_KERNEL | __GFP_ZERO; the USER variant adds __GFP_ACCOUNT (include/asm-generic/pgalloc.h). */
const GFP_PGTABLE_KERNEL = 0xcc0 | 0x100;
const GFP_PGTABLE_USER = GFP_PGTABLE_KERNEL | 0x400000;
/** vmalloc's default: GFP_KERNEL | __GFP_HIGHMEM (mm/vmalloc.c). */
const GFP_VMALLOC = 0xcc0 | 0x2;

/**
 * The mmu's port to the page allocator, over gRPC: each method is one call to the
 * page-allocator service, whatever the batch size.
 */
export function grpcPageAllocatorPort(client: PageAllocatorServiceClient): PageAllocatorPort {
  const getMachine = promisifyUnary(client, 'getMachine');
  const getPageCounts = promisifyUnary(client, 'getPageCounts');
  const transfers = new TransferStream(client);
  // page-table and vmalloc frames come and go on one StreamPageOps stream (a map that needs a
  // table waits for this call: a message on an open stream costs less than a unary call)
  const pageOps = new PageOpsStream(client);

  const allocAll = async (gfpMask: number, count: number, use: PageUse): Promise<number[] | null> => {
    const [r] = await pageOps.run([
      {
        op: {
          $case: 'alloc',
          value: AllocPagesRequest.fromPartial({ gfpMask, order: 0, count, use, allOrNothing: true }),
        },
      },
    ]);
    if (r?.result?.$case !== 'alloc')
      throw new Error('page allocator answered an alloc op with another result');
    const res = r.result.value;
    return res.errno === Errno.ERRNO_UNSPECIFIED ? toNumbers('pfns', res.pfns) : null;
  };
  const freeAll = async (pfns: readonly number[], use: PageUse): Promise<void> => {
    if (pfns.length)
      await pageOps.run([
        { op: { $case: 'free', value: FreePagesRequest.fromPartial({ pfns: toBigints(pfns), use }) } },
      ]);
  };

  return {
    async machine(): Promise<MachineInfo> {
      const m = await getMachine({});
      const maxPfn = Number(m.maxPfn);
      return {
        arch: m.arch === Arch.ARCH_X86 ? 'x86' : 'x86_64',
        maxPfn,
        maxLowPfn: Math.min(maxPfn, Number(m.lowmemEnd) / 4096),
        totalPages: Number(m.zones.reduce((sum, z) => sum + z.managedPages, 0n)),
      };
    },
    allocPageTables: (count, user) =>
      allocAll(user ? GFP_PGTABLE_USER : GFP_PGTABLE_KERNEL, count, PageUse.PAGE_USE_PAGE_TABLE),
    freePageTables: (pfns) => freeAll(pfns, PageUse.PAGE_USE_PAGE_TABLE),
    allocVmallocPages: (count) => allocAll(GFP_VMALLOC, count, PageUse.PAGE_USE_VMALLOC),
    freeVmallocPages: (pfns) => freeAll(pfns, PageUse.PAGE_USE_VMALLOC),
    async transferPhys(ops: readonly PhysOp[]): Promise<Uint8Array[]> {
      return ops.length === 0 ? [] : transfers.transfer(ops);
    },
    async mapcounts(pfns) {
      if (pfns.length === 0) return [];
      return (await getPageCounts({ pfns: toBigints(pfns) })).mapcounts;
    },
  };
}
