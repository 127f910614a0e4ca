import {
  PageType,
  ZERO_SIZE_PTR,
  type PageAllocator,
  type PageRefOp as DomainPageRefOp,
} from '@pagemesh/page-allocator';
import {
  Errno,
  PageRefOp,
  ProcFile,
  type AllocPagesRequest,
  type AllocPagesResponse,
  type ChangePageFlagsRequest,
  type ChangePageRefsRequest,
  type ChangePageRefsResponse,
  type FreePagesRequest,
  type GetMachineResponse,
  type GetPageCountsRequest,
  type GetPageCountsResponse,
  type TransferPhysRequest,
  type PhysOp,
  type StreamTransferPhysRequest,
  type StreamTransferPhysResponse,
  type TransferPhysResponse,
  PageUse,
  type KfreeRequest,
  type KmallocRequest,
  type KsizeRequest,
  type SplitPageRequest,
  type KmallocResponse,
  type GetPagesRequest,
  type GetPagesResponse,
  type Page,
  type ReadPhysRequest,
  type ReadPhysResponse,
  type ReadProcFileRequest,
  type ReadProcFileResponse,
  type StreamPageOpsRequest,
  type StreamPageOpsResponse,
  type PageOpResult,
  type WritePhysRequest,
} from '@pagemesh/proto';
import { DomainError, serveBatchStream } from '@pagemesh/service-kit';
import { canonicalFromVa48, va48FromCanonical } from '@pagemesh/uapi';
import type { ServerDuplexStream, ServerUnaryCall } from '@grpc/grpc-js';
import {
  domainPageFlag,
  protoArch,
  protoMapping,
  protoPageFlags,
  protoPageState,
  protoPageType,
  protoZone,
} from './enums';
import { checkBatch, toBigints, toNumber, toNumbers } from './wire';

/** Largest batch one call may carry (pages, pfns or ranges). */
export const MAX_BATCH = 65_536;
/** Largest PFN range GetPages returns at once. */
export const MAX_GET_PAGES = 4_096;

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>) => Res;

/**
 * The PageAllocatorService handlers over one domain allocator. Each handler converts the
 * request, calls the domain, and converts the answer back; the domain's typed errors become
 * statuses in the service kit's guard.
 */
export function pageAllocatorHandlers(pa: PageAllocator) {
  const allocPages = (req: AllocPagesRequest): AllocPagesResponse => {
    const count = req.count === 0 ? 1 : req.count;
    checkBatch('count', count, MAX_BATCH);
    checkUse(req.use, req.order);
    let pfns = pa.allocPagesBulk(req.gfpMask, req.order, count);
    if (pfns.length < count && req.allOrNothing) {
      pa.freePagesBulk(pfns, req.order);
      pfns = [];
    }
    if (req.use === PageUse.PAGE_USE_PAGE_TABLE) for (const pfn of pfns) pa.setPageType(pfn, PageType.Table);
    if (req.use === PageUse.PAGE_USE_VMALLOC) pa.addVmallocPages(pfns.length << req.order);
    return {
      pfns: toBigints(pfns),
      errno: pfns.length < count ? Errno.ERRNO_ENOMEM : Errno.ERRNO_UNSPECIFIED,
    };
  };

  const freePages = (req: FreePagesRequest) => {
    checkBatch('pfns', req.pfns.length, MAX_BATCH);
    checkUse(req.use, req.order);
    const pfns = toNumbers('pfns', req.pfns);
    if (req.use !== PageUse.PAGE_USE_PAGE_TABLE) {
      pa.freePagesBulk(pfns, req.order);
    } else {
      // pagetable_dtor before the free; the type goes back if the free is refused, so that a
      // refused request changes nothing.
      for (const pfn of pfns) {
        if (pa.pageType(pfn) !== PageType.Table) {
          throw new DomainError('failed-precondition', `pfn=0x${pfn.toString(16)}: not a page-table page`, {
            field: 'pfns',
            value: pfn,
          });
        }
      }
      for (const pfn of pfns) pa.clearPageType(pfn, PageType.Table);
      try {
        pa.freePagesBulk(pfns, req.order);
      } catch (err) {
        for (const pfn of pfns) pa.setPageType(pfn, PageType.Table);
        throw err;
      }
    }
    if (req.use === PageUse.PAGE_USE_VMALLOC) pa.addVmallocPages(-(pfns.length << req.order));
    return {};
  };

  /**
   * Reads, writes and copies in order. Every range is checked against RAM before the first one
   * runs, so a refused batch changes nothing.
   */
  const transferOps = (ops: readonly PhysOp[]): Buffer[] => {
    checkBatch('ops', ops.length, MAX_BATCH);
    const memBytes = pa.profile.memBytes;
    type Step = { paddr: number; length: number; bytes: Uint8Array | null; src: number };
    const inRam = (i: number, field: string, paddr: number, length: number) => {
      if (paddr + length > memBytes) {
        throw new DomainError(
          'invalid-argument',
          `ops[${i}]: ${length} bytes at ${field} 0x${paddr.toString(16)} end beyond RAM (0x${memBytes.toString(16)})`,
          { field: `ops[${i}].${field}`, value: paddr },
        );
      }
    };
    const steps = ops.map((o, i): Step => {
      const op = o.op;
      let step: Step;
      if (op?.$case === 'read')
        step = {
          paddr: toNumber(`ops[${i}].read.paddr`, op.value.paddr),
          length: op.value.length,
          bytes: null,
          src: -1,
        };
      else if (op?.$case === 'write')
        step = {
          paddr: toNumber(`ops[${i}].write.paddr`, op.value.paddr),
          length: op.value.data.length,
          bytes: op.value.data,
          src: -1,
        };
      else if (op?.$case === 'copy') {
        step = {
          paddr: toNumber(`ops[${i}].copy.dst_paddr`, op.value.dstPaddr),
          length: op.value.length,
          bytes: null,
          src: toNumber(`ops[${i}].copy.src_paddr`, op.value.srcPaddr),
        };
        inRam(i, 'src_paddr', step.src, step.length);
      } else
        throw new DomainError('invalid-argument', `ops[${i}] is not a read, a write or a copy`, {
          field: `ops[${i}]`,
        });
      inRam(i, 'paddr', step.paddr, step.length);
      return step;
    });
    const data: Buffer[] = [];
    for (const step of steps) {
      if (step.src >= 0) {
        pa.writePhys(step.paddr, pa.readPhys(step.src, step.length));
      } else if (step.bytes === null) {
        const bytes = pa.readPhys(step.paddr, step.length);
        data.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      } else {
        pa.writePhys(step.paddr, step.bytes);
      }
    }
    return data;
  };

  const transferPhys = (req: TransferPhysRequest): TransferPhysResponse => ({ data: transferOps(req.ops) });

  const getPageCounts = (req: GetPageCountsRequest): GetPageCountsResponse => {
    checkBatch('pfns', req.pfns.length, MAX_BATCH);
    const pfns = toNumbers('pfns', req.pfns);
    return {
      refcounts: pfns.map((pfn) => pa.pageCount(pfn)),
      mapcounts: pfns.map((pfn) => pa.pageMapcount(pfn)),
    };
  };

  const changePageRefs = (req: ChangePageRefsRequest): ChangePageRefsResponse => {
    checkBatch('pfns', req.pfns.length, MAX_BATCH);
    const pfns = toNumbers('pfns', req.pfns);
    const freed = pa.changePageRefs(refOp(req.op), pfns);
    return { freedPfns: toBigints(pfns.filter((_, i) => freed[i])) };
  };

  const changePageFlags = (req: ChangePageFlagsRequest) => {
    checkBatch('pfns', req.pfns.length, MAX_BATCH);
    const pfns = toNumbers('pfns', req.pfns);
    const set = req.set.map((f, i) => domainPageFlag(`set[${i}]`, f));
    const clear = req.clear.map((f, i) => domainPageFlag(`clear[${i}]`, f));
    for (const pfn of pfns) pa.validatePfn(pfn);
    const before = pfns.map((pfn) => [...set, ...clear].map((f) => pa.testPageFlag(pfn, f)));
    try {
      for (const pfn of pfns) {
        for (const f of set) pa.setPageFlag(pfn, f);
        for (const f of clear) pa.clearPageFlag(pfn, f);
      }
    } catch (err) {
      pfns.forEach((pfn, i) =>
        [...set, ...clear].forEach((f, k) =>
          before[i][k] ? pa.setPageFlag(pfn, f) : pa.clearPageFlag(pfn, f),
        ),
      );
      throw err;
    }
    return {};
  };

  const getPages = (req: GetPagesRequest): GetPagesResponse => {
    const start = toNumber('start_pfn', req.startPfn);
    const count = req.count === 0 ? 1 : req.count;
    if (count > MAX_GET_PAGES) {
      throw new DomainError('invalid-argument', `count=${count}: at most ${MAX_GET_PAGES} pages per call`, {
        field: 'count',
        value: count,
      });
    }
    pa.validatePfn(start, 'start_pfn');
    pa.validatePfn(start + count - 1, 'start_pfn + count - 1');
    const pages: Page[] = [];
    for (let pfn = start; pfn < start + count; pfn++) {
      const p = pa.page(pfn);
      pages.push({
        pfn: BigInt(pfn),
        flags: protoPageFlags(p.flags, p.headPfn !== null),
        pageType: protoPageType(p.buddy ? 'buddy' : p.pageType),
        refcount: p.refcount,
        mapcount: p.mapcount,
        zone: protoZone(p.zone),
        order: p.order,
        mapping: protoMapping(p.mapping),
        state: protoPageState(p.state),
      });
    }
    return { pages };
  };

  const readPhys = (req: ReadPhysRequest): ReadPhysResponse => {
    checkBatch('ranges', req.ranges.length, MAX_BATCH);
    const ranges = req.ranges.map((r, i) => ({
      paddr: toNumber(`ranges[${i}].paddr`, r.paddr),
      length: r.length,
    }));
    return {
      data: pa
        .readPhysBatch(ranges)
        .map((bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
    };
  };

  const writePhys = (req: WritePhysRequest) => {
    checkBatch('writes', req.writes.length, MAX_BATCH);
    pa.writePhysBatch(
      req.writes.map((w, i) => ({ paddr: toNumber(`writes[${i}].paddr`, w.paddr), bytes: w.data })),
    );
    return {};
  };

  const readProcFile = (req: ReadProcFileRequest): ReadProcFileResponse => {
    switch (req.file) {
      case ProcFile.PROC_FILE_BUDDYINFO:
        return { text: pa.procBuddyinfo() };
      case ProcFile.PROC_FILE_MEMINFO:
        return { text: pa.procMeminfo() };
      case ProcFile.PROC_FILE_ZONEINFO:
        return { text: pa.procZoneinfo() };
      case ProcFile.PROC_FILE_SLABINFO:
        return { text: pa.procSlabinfo() };
      default:
        throw new DomainError(
          'invalid-argument',
          `file=${ProcFile[req.file] ?? req.file}: not a file this service serves`,
          {
            field: 'file',
            value: req.file,
          },
        );
    }
  };

  const kmalloc = (req: KmallocRequest): KmallocResponse => {
    const size = toNumber('size', req.size);
    const addr = pa.kmalloc(size, req.gfpMask);
    if (addr === null) return { addr: 0n, errno: Errno.ERRNO_ENOMEM, ksize: 0n };
    const usable = addr === ZERO_SIZE_PTR ? 0 : pa.ksize(addr);
    return {
      addr: addr === ZERO_SIZE_PTR ? BigInt(addr) : canonicalFromVa48(addr),
      errno: Errno.ERRNO_UNSPECIFIED,
      ksize: BigInt(usable),
    };
  };

  const kfree = (req: KfreeRequest) => {
    const addr = kernelAddress('addr', req.addr);
    pa.kfree(addr);
    return {};
  };

  const getMachine = (): GetMachineResponse => {
    const p = pa.profile;
    const c = pa.counters();
    return {
      arch: protoArch(p.arch),
      memBytes: BigInt(p.memBytes),
      nrCpus: p.nrCpus,
      maxPfn: BigInt(p.maxPfn),
      pageOffset: canonicalFromVa48(p.pageOffset),
      lowmemEnd: BigInt(p.lowmemLimit),
      zones: pa.zones.map((z, i) => ({
        zone: protoZone(z.name),
        name: z.name,
        startPfn: BigInt(z.startPfn),
        spannedPages: BigInt(z.spannedPages),
        presentPages: BigInt(z.presentPages),
        managedPages: BigInt(z.managedPages),
        freePages: BigInt(z.freePages),
        pagesAllocated: BigInt(pa.pgalloc[i]),
      })),
      totalPages: BigInt(c.totalPages),
      freePages: BigInt(c.freePages),
      reservedPages: BigInt(c.reservedPages),
    };
  };

  /** One batch of the stream: ops in order, stopping at the first refused one. */
  const pageOpsBatch = (req: StreamPageOpsRequest): StreamPageOpsResponse => {
    checkBatch('ops', req.ops.length, MAX_BATCH);
    const results: PageOpResult[] = [];
    for (const [i, item] of req.ops.entries()) {
      try {
        const op = item.op;
        if (!op) throw new DomainError('invalid-argument', `ops[${i}] is empty`, { field: `ops[${i}]` });
        switch (op.$case) {
          case 'alloc':
            results.push({ result: { $case: 'alloc', value: allocPages(op.value) } });
            break;
          case 'free':
            results.push({ result: { $case: 'free', value: freePages(op.value) } });
            break;
          case 'refs':
            results.push({ result: { $case: 'refs', value: changePageRefs(op.value) } });
            break;
        }
      } catch (err) {
        if (!(err instanceof Error) || !('kind' in err || 'code' in err)) throw err;
        return { batchId: req.batchId, results, failedOpIndex: i, failure: err.message };
      }
    }
    return { batchId: req.batchId, results, failedOpIndex: 0, failure: '' };
  };

  const unary =
    <Req, Res>(fn: (req: Req) => Res): Unary<Req, Res> =>
    (call) =>
      fn(call.request);

  return {
    getMachine: unary(getMachine),
    allocPages: unary(allocPages),
    freePages: unary(freePages),
    changePageRefs: unary(changePageRefs),
    changePageFlags: unary(changePageFlags),
    getPages: unary(getPages),
    readPhys: unary(readPhys),
    writePhys: unary(writePhys),
    readProcFile: unary(readProcFile),
    kmalloc: unary(kmalloc),
    ksize: unary((req: KsizeRequest) => ({ size: BigInt(pa.ksize(kernelAddress('addr', req.addr))) })),
    splitPage: unary((req: SplitPageRequest) => {
      pa.splitPage(toNumber('pfn', req.pfn), req.order);
      return {};
    }),
    transferPhys: unary(transferPhys),
    getPageCounts: unary(getPageCounts),
    kfree: unary(kfree),
    streamTransferPhys: (call: ServerDuplexStream<StreamTransferPhysRequest, StreamTransferPhysResponse>) =>
      serveBatchStream(
        call,
        (req) => ({ batchId: req.batchId, data: transferOps(req.ops), failure: '' }),
        (req, err) => ({ batchId: req.batchId, data: [], failure: err.message }),
      ),
    streamPageOps: (call: ServerDuplexStream<StreamPageOpsRequest, StreamPageOpsResponse>) =>
      serveBatchStream(call, pageOpsBatch, (req, err) => ({
        batchId: req.batchId,
        results: [],
        failedOpIndex: 0,
        failure: err.message,
      })),
  };
}

/** Page-table frames are order 0 (pagetable_alloc of a 4 KiB table); vmalloc pages too. */
function checkUse(use: PageUse, order: number): void {
  if (
    use !== PageUse.PAGE_USE_UNSPECIFIED &&
    use !== PageUse.PAGE_USE_PAGE_TABLE &&
    use !== PageUse.PAGE_USE_VMALLOC
  ) {
    throw new DomainError('invalid-argument', `use=${use}: not a PageUse`, { field: 'use', value: use });
  }
  if (use !== PageUse.PAGE_USE_UNSPECIFIED && order !== 0) {
    throw new DomainError('invalid-argument', `order=${order}: ${PageUse[use]} pages are order 0`, {
      field: 'order',
      value: order,
    });
  }
}

/**
 * A kernel virtual address from the wire: canonical 64-bit, held as va48 from here on. Small
 * values (NULL, ZERO_SIZE_PTR) pass as they are, so that kfree can refuse or accept them.
 */
function kernelAddress(field: string, value: bigint): number {
  const va = va48FromCanonical(value);
  if (va === null) {
    throw new DomainError('invalid-argument', `${field}=0x${value.toString(16)}: not a canonical address`, {
      field,
      value,
    });
  }
  return va;
}

const REF_OPS: ReadonlyMap<PageRefOp, DomainPageRefOp> = new Map([
  [PageRefOp.PAGE_REF_OP_GET, 'get'],
  [PageRefOp.PAGE_REF_OP_PUT, 'put'],
  [PageRefOp.PAGE_REF_OP_MAPCOUNT_INC, 'mapcountInc'],
  [PageRefOp.PAGE_REF_OP_MAPCOUNT_DEC, 'mapcountDec'],
] as const);

function refOp(op: PageRefOp): DomainPageRefOp {
  const domain = REF_OPS.get(op);
  if (domain === undefined) {
    throw new DomainError(
      'invalid-argument',
      `op=${PageRefOp[op] ?? op}: expected GET, PUT, MAPCOUNT_INC or MAPCOUNT_DEC`,
      {
        field: 'op',
        value: op,
      },
    );
  }
  return domain;
}
