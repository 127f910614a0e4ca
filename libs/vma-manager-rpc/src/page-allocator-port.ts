import { GFP } from '@pagemesh/page-allocator';
import { MAX_BATCH, MAX_GET_PAGES, PageOpsStream, toBigints, toNumbers } from '@pagemesh/page-allocator-rpc';
import {
  AllocPagesRequest,
  ChangePageFlagsRequest,
  Errno,
  PageFlag,
  PageRefOp,
  type PageAllocatorServiceClient,
  type PhysOp,
} from '@pagemesh/proto';
import { DomainError, promisifyUnary } from '@pagemesh/service-kit';
import { PAGE_SIZE } from '@pagemesh/uapi';
import { GFP_TRANSHUGE_ZEROED, HPAGE_PMD_ORDER, type PageAllocatorPort } from '@pagemesh/vma-manager';

/** What do_anonymous_page allocates user pages with: GFP_HIGHUSER_MOVABLE | __GFP_ZERO. */
const GFP_USER_ZEROED = GFP.HIGHUSER_MOVABLE | GFP.ZERO;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const read = (paddr: number, length: number): PhysOp => ({
  op: { $case: 'read', value: { paddr: BigInt(paddr), length } },
});
const write = (paddr: number, data: Uint8Array): PhysOp => ({
  op: {
    $case: 'write',
    value: { paddr: BigInt(paddr), data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) },
  },
});

/**
 * The vma-manager's port to the page allocator, over the page-allocator service: one call per
 * method and batch (split only where a batch exceeds what one call takes), the same work
 * inprocPagesPort does over the domain object.
 */
export function grpcPagesPort(client: PageAllocatorServiceClient): PageAllocatorPort {
  const changePageFlags = promisifyUnary(client, 'changePageFlags');
  const getPageCounts = promisifyUnary(client, 'getPageCounts');
  const getPages = promisifyUnary(client, 'getPages');
  const transferPhys = promisifyUnary(client, 'transferPhys');
  let zero: Promise<number> | null = null;
  let hugeZero: Promise<number | null> | null = null;

  // allocations and reference changes, the fault path's calls, go down one stream
  const ops = new PageOpsStream(client);
  const refs = async (op: PageRefOp, pfns: readonly number[]) => {
    for (const part of chunks(pfns, MAX_BATCH))
      await ops.run([{ op: { $case: 'refs', value: { op, pfns: toBigints(part) } } }]);
  };
  /** One order-9 THP folio (GFP_TRANSHUGE, zeroed), or null when no 2 MiB block is free. */
  const allocHuge = async (): Promise<number | null> => {
    const [result] = await ops.run([
      {
        op: {
          $case: 'alloc',
          value: AllocPagesRequest.fromPartial({
            gfpMask: GFP_TRANSHUGE_ZEROED,
            order: HPAGE_PMD_ORDER,
            count: 1,
            allOrNothing: true,
          }),
        },
      },
    ]);
    if (result?.result?.$case !== 'alloc')
      throw new Error('page allocator answered an alloc op with another result');
    const res = result.result.value;
    if (res.errno !== Errno.ERRNO_UNSPECIFIED) return null;
    return toNumbers('pfns', res.pfns)[0] ?? null;
  };
  const allocZeroed = async (count: number): Promise<number[]> => {
    const [result] = await ops.run([
      {
        op: {
          $case: 'alloc',
          value: AllocPagesRequest.fromPartial({
            gfpMask: GFP_USER_ZEROED,
            order: 0,
            count,
            allOrNothing: true,
          }),
        },
      },
    ]);
    if (result?.result?.$case !== 'alloc')
      throw new Error('page allocator answered an alloc op with another result');
    const res = result.result.value;
    if (res.errno !== Errno.ERRNO_UNSPECIFIED)
      throw new DomainError('resource-exhausted', `out of memory: ${count} user pages`, {
        field: 'count',
        value: count,
      });
    return toNumbers('pfns', res.pfns);
  };

  return {
    async allocZeroedPages(count) {
      const out: number[] = [];
      for (let left = count; left > 0; left -= MAX_BATCH)
        out.push(...(await allocZeroed(Math.min(left, MAX_BATCH))));
      return out;
    },
    getPages: (pfns) => refs(PageRefOp.PAGE_REF_OP_GET, pfns),
    putPages: (pfns) => refs(PageRefOp.PAGE_REF_OP_PUT, pfns),
    addMapcounts: (pfns, delta) =>
      refs(delta > 0 ? PageRefOp.PAGE_REF_OP_MAPCOUNT_INC : PageRefOp.PAGE_REF_OP_MAPCOUNT_DEC, pfns),
    async mapcounts(pfns) {
      const out: number[] = [];
      for (const part of chunks(pfns, MAX_BATCH))
        out.push(...(await getPageCounts({ pfns: toBigints(part) })).mapcounts);
      return out;
    },
    async markDirty(pfns) {
      for (const part of chunks(pfns, MAX_BATCH))
        await changePageFlags(
          ChangePageFlagsRequest.fromPartial({ pfns: toBigints(part), set: [PageFlag.PAGE_FLAG_DIRTY] }),
        );
    },
    async dirtyFlags(pfns) {
      // one GetPages per run of consecutive PFNs
      const dirty = new Map<number, boolean>();
      const sorted = [...new Set(pfns)].sort((a, b) => a - b);
      let i = 0;
      while (i < sorted.length) {
        let j = i + 1;
        while (j < sorted.length && sorted[j] === sorted[j - 1] + 1 && j - i < MAX_GET_PAGES) j++;
        const { pages } = await getPages({ startPfn: BigInt(sorted[i]), count: j - i });
        pages.forEach((p, k) => dirty.set(sorted[i] + k, p.flags.includes(PageFlag.PAGE_FLAG_DIRTY)));
        i = j;
      }
      return pfns.map((pfn) => dirty.get(pfn) ?? false);
    },
    async copyPages(pairs) {
      // copies within RAM: no page's bytes cross the wire, one call per MAX_BATCH pages
      for (const part of chunks(pairs, MAX_BATCH))
        await transferPhys({
          ops: part.map((p) => ({
            op: {
              $case: 'copy',
              value: {
                srcPaddr: BigInt(p.src * PAGE_SIZE),
                dstPaddr: BigInt(p.dst * PAGE_SIZE),
                length: PAGE_SIZE,
              },
            },
          })),
        });
    },
    allocHugePage: allocHuge,
    hugeZeroPage() {
      // the huge zero folio, allocated on first use and kept, as inprocPagesPort does
      hugeZero ??= allocHuge();
      hugeZero.then(
        (pfn) => (pfn === null ? (hugeZero = null) : undefined),
        () => (hugeZero = null),
      );
      return hugeZero;
    },
    zeroPage() {
      // ZERO_PAGE(0): one zeroed page, reserved so that nothing ever frees it; allocated once.
      zero ??= (async () => {
        const [pfn] = await allocZeroed(1);
        await changePageFlags(
          ChangePageFlagsRequest.fromPartial({ pfns: [BigInt(pfn)], set: [PageFlag.PAGE_FLAG_RESERVED] }),
        );
        return pfn;
      })();
      zero.catch(() => (zero = null));
      return zero;
    },
    async readBytes(reads) {
      if (!reads.length) return [];
      const { data } = await transferPhys({
        ops: reads.map((r) => read(r.pfn * PAGE_SIZE + r.offset, r.length)),
      });
      return data.map((d) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    },
    async writeBytes(writes) {
      if (!writes.length) return;
      await transferPhys({ ops: writes.map((w) => write(w.pfn * PAGE_SIZE + w.offset, w.bytes)) });
    },
  };
}
