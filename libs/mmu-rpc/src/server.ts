import type { ServerDuplexStream, ServerUnaryCall } from '@grpc/grpc-js';
import {
  _PAGE_RW,
  accessAddress,
  type Access,
  type AccessResult as DomainAccessResult,
  type Mmu,
  type RemovedPte as DomainRemovedPte,
} from '@pagemesh/mmu';
import { checkBatch, toBigints, toNumber, toNumbers } from '@pagemesh/page-allocator-rpc';
import {
  AccessOp,
  Errno,
  MmuProcFile,
  type AccessResult,
  type GetPagingInfoResponse,
  type MapPagesRequest,
  type MapHugePmdRequest,
  type SplitHugePmdRequest,
  type MapPageBatchRequest,
  type MapPageBatchResponse,
  type PageRange,
  type PagemapRangesRequest,
  type PagemapRangesResponse,
  type ProtectRangesRequest,
  type UnmapRangesRequest,
  type MarkSpecialRequest,
  type KmapRequest,
  type KunmapRequest,
  type KmapLocalRequest,
  type KunmapLocalRequest,
  type MmuServiceReadProcFileRequest,
  type PagemapRequest,
  type PagemapResponse,
  type ProtectPagesRequest,
  type RemapPfnRangeRequest,
  type RemapPfnRangeResponse,
  type RemovedPte,
  type StreamAccessesRequest,
  type StreamAccessesResponse,
  type SwitchCpuRequest,
  type UnmapPagesRequest,
  type VfreeRequest,
  type VmallocRequest,
  type VmallocResponse,
  type VmallocToPfnRequest,
  type WalkRequest,
  type WalkResponse,
  type GetTlbStatsRequest,
  type GetTlbStatsResponse,
} from '@pagemesh/proto';
import { DomainError, serveBatchStream } from '@pagemesh/service-kit';
import { ERRNO, canonicalFromVa48, va48FromCanonical } from '@pagemesh/uapi';
import { vmFlagsFromWire, vmFlagsToWire } from './vm-flags-wire';

/** Largest number of pages one map/unmap/protect/pagemap call may cover (1 GiB of 4 KiB pages). */
export const MAX_PAGES_PER_CALL = 262_144;
/** Largest number of accesses in one stream batch. */
export const MAX_ACCESSES_PER_BATCH = 65_536;

/** The data of an access that moved none (a write). */
const EMPTY = new Uint8Array(0);

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>;

/** A virtual address from the wire, as va48; a non-canonical one is refused naming the field. */
export function wireVa(field: string, value: bigint): number {
  const va = va48FromCanonical(value);
  if (va === null) {
    throw new DomainError('invalid-argument', `${field}=0x${value.toString(16)}: not a canonical address`, {
      field,
      value,
    });
  }
  return va;
}

/** An address-space id: a small positive number. */
function asidOf(value: bigint): number {
  return toNumber('address_space_id', value);
}

/** x86 pgprot as a 64-bit wire value → the mmu's (lo, hi) words. */
export function pgprotFromWire(value: bigint): { lo: number; hi: number } {
  if (value < 0n || value >= 1n << 64n) {
    throw new DomainError('invalid-argument', `pgprot=0x${value.toString(16)}: not a 64-bit value`, {
      field: 'pgprot',
      value,
    });
  }
  return { lo: Number(value & 0xffff_ffffn), hi: Number(value >> 32n) };
}

function removedToWire(r: DomainRemovedPte): RemovedPte {
  return {
    address: canonicalFromVa48(r.va),
    pfn: BigInt(r.pfn),
    special: r.special,
    dirty: r.dirty,
    accessed: r.accessed,
    protNone: r.protNone,
    writable: r.writable,
    huge: r.huge === true,
  };
}

/** pte_write() of the leaf entry mapping `va` (the walk's last step). */
function leafWritable(mmu: Mmu, asid: number, va: number): boolean {
  const steps = mmu.walk(asid, va).steps;
  return (steps[steps.length - 1].lo & _PAGE_RW) !== 0;
}

function errnoToWire(name: string | null): Errno {
  return name === null ? Errno.ERRNO_UNSPECIFIED : (ERRNO[name as keyof typeof ERRNO] as Errno);
}

const ACCESS_OPS: Record<number, Access['op'] | undefined> = {
  [AccessOp.ACCESS_OP_READ]: 'read',
  [AccessOp.ACCESS_OP_WRITE]: 'write',
  [AccessOp.ACCESS_OP_FETCH]: 'fetch',
};

function accessResultToWire(r: DomainAccessResult): AccessResult {
  switch (r.kind) {
    case 'ok':
      // ts-proto writes any Uint8Array as bytes: no Buffer wrapper per access.
      return { result: { $case: 'data', value: (r.data ?? EMPTY) as Buffer } };
    case 'page-fault':
      return {
        result: {
          $case: 'pageFault',
          value: { address: canonicalFromVa48(r.address), errorCode: r.errorCode },
        },
      };
    case 'general-protection':
      return { result: { $case: 'generalProtection', value: true } };
    case 'skipped':
      return { result: { $case: 'skipped', value: true } };
  }
}

/**
 * The MmuService handlers over one domain Mmu. Conversions happen here and only here: canonical
 * 64-bit addresses become va48, pgprot becomes (lo, hi), VM flags become bits.
 */
export function mmuHandlers(mmu: Mmu) {
  const getPagingInfo = (): GetPagingInfoResponse => {
    const p = mmu.profile;
    return {
      levels: p.levelNames.length,
      pageOffset: canonicalFromVa48(p.pageOffset),
      vmallocStart: canonicalFromVa48(p.vmallocStart),
      vmallocEnd: canonicalFromVa48(p.vmallocEnd),
      taskSize: canonicalFromVa48(p.taskSize),
      cpus: mmu.cpuCount,
      tablePages: BigInt(mmu.tablePages()),
      tlbEntries: mmu.smallTlbEntries,
    };
  };

  const walk = (req: WalkRequest): WalkResponse => {
    const trace = mmu.walk(asidOf(req.addressSpaceId), wireVa('address', req.address));
    return {
      steps: trace.steps.map((s) => ({
        level: s.level,
        index: s.index,
        entry: BigInt(s.hi) * 2n ** 32n + BigInt(s.lo),
        tablePfn: BigInt(s.tablePfn),
      })),
      present: trace.present,
      physAddr: BigInt(trace.physAddr ?? 0),
    };
  };

  const remapPfnRange = async (req: RemapPfnRangeRequest): Promise<RemapPfnRangeResponse> => {
    const vma = req.vma;
    if (!vma) throw new DomainError('invalid-argument', 'vma is missing', { field: 'vma' });
    const result = await mmu.remapPfnRange(
      asidOf(req.addressSpaceId),
      {
        start: wireVa('vma.vm_start', vma.vmStart),
        end: wireVa('vma.vm_end', vma.vmEnd),
        flags: vmFlagsFromWire(vma.vmFlags),
        pgoff: toNumber('vma.vm_pgoff', vma.vmPgoff),
      },
      wireVa('addr', req.addr),
      toNumber('pfn', req.pfn),
      toNumber('size', req.size),
      pgprotFromWire(req.pgprot),
    );
    return {
      errno: errnoToWire(result.errno),
      vmFlags: vmFlagsToWire(result.vmFlags),
      vmPgoff: BigInt(result.vmPgoff),
    };
  };

  const mapPages = async (req: MapPagesRequest) => {
    const source =
      req.pfns.length > 0
        ? toNumbers('pfns', req.pfns)
        : { first: toNumber('first_pfn', req.firstPfn), count: req.count };
    const pages = Array.isArray(source) ? source.length : (source as { count: number }).count;
    checkBatch('pfns', pages, MAX_PAGES_PER_CALL);
    const replaced = await mmu.mapPages(
      asidOf(req.addressSpaceId),
      wireVa('address', req.address),
      source,
      pgprotFromWire(req.pgprot),
      {
        special: req.special,
        replace: req.replace,
      },
    );
    return { replaced: replaced.map(removedToWire) };
  };

  const mapHugePmd = async (req: MapHugePmdRequest) => {
    const replaced = await mmu.mapHugePmd(
      asidOf(req.addressSpaceId),
      wireVa('address', req.address),
      toNumber('pfn', req.pfn),
      pgprotFromWire(req.pgprot),
      { special: req.special, replace: req.replace },
    );
    return { replaced: replaced.map(removedToWire) };
  };

  const splitHugePmd = async (req: SplitHugePmdRequest) => ({
    ptes: await mmu.splitHugePmd(
      asidOf(req.addressSpaceId),
      wireVa('address', req.address),
      req.toZeroPage ? { zeroPfn: toNumber('zero_pfn', req.zeroPfn) } : {},
    ),
  });

  const unmapPages = async (req: UnmapPagesRequest) => {
    checkBatch('count', req.count, MAX_PAGES_PER_CALL);
    const removed = await mmu.unmapPages(
      asidOf(req.addressSpaceId),
      wireVa('address', req.address),
      req.count,
    );
    return { removed: removed.map(removedToWire) };
  };

  const protectPages = async (req: ProtectPagesRequest) => {
    checkBatch('count', req.count, MAX_PAGES_PER_CALL);
    const changed = await mmu.protectPages(
      asidOf(req.addressSpaceId),
      wireVa('address', req.address),
      req.count,
      pgprotFromWire(req.pgprot),
    );
    return { changed };
  };

  /** The ranges of a multi-range request, checked before any is used: at most MAX_PAGES_PER_CALL pages in all. */
  const rangesFromWire = (ranges: readonly PageRange[]): { va: number; count: number }[] => {
    checkBatch(
      'ranges',
      ranges.reduce((n, r) => n + r.count, 0),
      MAX_PAGES_PER_CALL,
    );
    return ranges.map((r, i) => ({ va: wireVa(`ranges[${i}].address`, r.address), count: r.count }));
  };

  const unmapRanges = async (req: UnmapRangesRequest) => {
    const asid = asidOf(req.addressSpaceId);
    const removed: RemovedPte[] = [];
    for (const r of rangesFromWire(req.ranges)) {
      if (r.count === 0) continue;
      for (const p of await mmu.unmapPages(asid, r.va, r.count)) removed.push(removedToWire(p));
    }
    return { removed };
  };

  const protectRanges = async (req: ProtectRangesRequest) => {
    const asid = asidOf(req.addressSpaceId);
    const ranges = rangesFromWire(req.ranges);
    const prots = req.ranges.map((r) => pgprotFromWire(r.pgprot));
    let changed = 0;
    for (let i = 0; i < ranges.length; i++)
      if (ranges[i].count > 0)
        changed += await mmu.protectPages(asid, ranges[i].va, ranges[i].count, prots[i]);
    return { changed };
  };

  const mapPageBatch = async (req: MapPageBatchRequest): Promise<MapPageBatchResponse> => {
    checkBatch('pages', req.pages.length, MAX_PAGES_PER_CALL);
    const pages = req.pages.map((p, i) => ({
      va: wireVa(`pages[${i}].address`, p.address),
      pfn: toNumber(`pages[${i}].pfn`, p.pfn),
      prot: pgprotFromWire(p.pgprot),
      special: p.special,
    }));
    const replaced = await mmu.mapPageBatch(asidOf(req.addressSpaceId), pages, { replace: req.replace });
    return { replaced: replaced.map(removedToWire) };
  };

  /** pagemap of `count` pages at `va`, with each present entry's pte_write. */
  const pagemapEntries = async (asid: number, va: number, count: number): Promise<PagemapResponse> => {
    checkBatch('count', count, MAX_PAGES_PER_CALL);
    const entries = await mmu.pagemap(asid, va, count);
    return {
      entries: entries.map((e) => ({
        address: canonicalFromVa48(e.va),
        present: e.present,
        pfn: BigInt(e.pfn ?? 0),
        special: e.special,
        exclusive: e.exclusive,
        softDirty: e.softDirty,
        dirty: e.dirty,
        accessed: e.accessed,
        value: BigInt(e.hi >>> 0) * 2n ** 32n + BigInt(e.lo >>> 0),
        writable: e.present && leafWritable(mmu, asid, e.va),
      })),
    };
  };

  const pagemap = (req: PagemapRequest): Promise<PagemapResponse> => {
    checkBatch('count', req.count, MAX_PAGES_PER_CALL);
    const asid = asidOf(req.addressSpaceId);
    return pagemapEntries(asid, wireVa('address', req.address), req.count);
  };

  const pagemapRanges = async (req: PagemapRangesRequest): Promise<PagemapRangesResponse> => {
    const asid = asidOf(req.addressSpaceId);
    const entries: PagemapRangesResponse['entries'] = [];
    for (const r of rangesFromWire(req.ranges))
      if (r.count > 0) for (const e of (await pagemapEntries(asid, r.va, r.count)).entries) entries.push(e);
    return { entries };
  };

  const switchCpu = (req: SwitchCpuRequest) => {
    mmu.switchTo(req.cpu, asidOf(req.addressSpaceId));
    return {};
  };

  /**
   * One batch of accesses. A non-canonical address becomes the mmu's NON_CANONICAL sentinel, so
   * the mmu answers #GP for it in batch order (and skips what follows on that CPU).
   */
  const accessBatch = async (req: StreamAccessesRequest): Promise<StreamAccessesResponse> => {
    checkBatch('accesses', req.accesses.length, MAX_ACCESSES_PER_BATCH);
    const accesses: Access[] = req.accesses.map((a, i) => {
      const op = ACCESS_OPS[a.op];
      if (op === undefined) {
        throw new DomainError(
          'invalid-argument',
          `accesses[${i}].op=${a.op}: expected READ, WRITE or FETCH`,
          {
            field: `accesses[${i}].op`,
            value: a.op,
          },
        );
      }
      const va = accessAddress(a.address);
      return op === 'write'
        ? { cpu: a.cpu, va, op, user: a.user, data: a.data }
        : { cpu: a.cpu, va, op, user: a.user, length: a.length };
    });
    const done = await mmu.accessBatch(accesses);
    return { batchId: req.batchId, results: done.map(accessResultToWire), failure: '' };
  };

  const vmalloc = async (req: VmallocRequest): Promise<VmallocResponse> => {
    const addr = await mmu.vmalloc(toNumber('size', req.size));
    return addr === null
      ? { addr: 0n, errno: Errno.ERRNO_ENOMEM }
      : { addr: canonicalFromVa48(addr), errno: Errno.ERRNO_UNSPECIFIED };
  };

  const vfree = async (req: VfreeRequest) => {
    await mmu.vfree(wireVa('addr', req.addr));
    return {};
  };

  const vmallocToPfn = (req: VmallocToPfnRequest) => {
    const count = req.count === 0 ? 1 : req.count;
    checkBatch('count', count, MAX_PAGES_PER_CALL);
    const base = wireVa('addr', req.addr);
    const pfns: number[] = [];
    for (let i = 0; i < count; i++) {
      const pfn = mmu.vmallocToPfn(base + i * 4096);
      if (pfn === null) {
        throw new DomainError(
          'not-found',
          `addr=${canonicalFromVa48(base + i * 4096).toString(16)}: no vmalloc page mapped there`,
          {
            field: 'addr',
            value: req.addr,
          },
        );
      }
      pfns.push(pfn);
    }
    return { pfns: toBigints(pfns) };
  };

  const getTlbStats = (req: GetTlbStatsRequest): GetTlbStatsResponse => {
    const s = mmu.tlbStats(req.cpu);
    return {
      hits: BigInt(s.hits),
      misses: BigInt(s.misses),
      permissionMisses: BigInt(s.permissionMisses),
      invlpg: BigInt(s.invlpg),
      fullFlushes: BigInt(s.fullFlushes),
      shootdowns: BigInt(s.shootdowns),
      valid: s.valid,
    };
  };

  const readProcFile = (req: MmuServiceReadProcFileRequest) => {
    if (req.file !== MmuProcFile.MMU_PROC_FILE_VMALLOCINFO) {
      throw new DomainError(
        'invalid-argument',
        `file=${MmuProcFile[req.file] ?? req.file}: not a file this service serves`,
        { field: 'file', value: req.file },
      );
    }
    return { text: mmu.procVmallocinfo() };
  };

  const unary =
    <Req, Res>(fn: (req: Req) => Res | Promise<Res>): Unary<Req, Res> =>
    (call) =>
      fn(call.request);

  return {
    getPagingInfo: unary(getPagingInfo),
    createAddressSpace: unary(async () => ({ addressSpaceId: BigInt(await mmu.createAddressSpace()) })),
    destroyAddressSpace: unary(async (req: { addressSpaceId: bigint }) => ({
      freedTablePages: BigInt((await mmu.destroyAddressSpace(asidOf(req.addressSpaceId))).freedTablePages),
    })),
    walk: unary(walk),
    remapPfnRange: unary(remapPfnRange),
    mapPages: unary(mapPages),
    unmapPages: unary(unmapPages),
    protectPages: unary(protectPages),
    pagemap: unary(pagemap),
    unmapRanges: unary(unmapRanges),
    pagemapRanges: unary(pagemapRanges),
    protectRanges: unary(protectRanges),
    mapPageBatch: unary(mapPageBatch),
    mapHugePmd: unary(mapHugePmd),
    splitHugePmd: unary(splitHugePmd),
    switchCpu: unary(switchCpu),
    vmalloc: unary(vmalloc),
    vfree: unary(vfree),
    vmallocToPfn: unary(vmallocToPfn),
    getTlbStats: unary(getTlbStats),
    readProcFile: unary(readProcFile),
    markSpecial: unary(async (req: MarkSpecialRequest) => {
      checkBatch('count', req.count, MAX_PAGES_PER_CALL);
      const changed = await mmu.markSpecial(
        asidOf(req.addressSpaceId),
        wireVa('address', req.address),
        req.count,
        req.special,
      );
      return { changed };
    }),
    kmap: unary(async (req: KmapRequest) => ({
      addr: canonicalFromVa48(await mmu.kmap(toNumber('pfn', req.pfn))),
    })),
    kunmap: unary(async (req: KunmapRequest) => {
      await mmu.kunmap(toNumber('pfn', req.pfn));
      return {};
    }),
    kmapLocal: unary(async (req: KmapLocalRequest) => ({
      addr: canonicalFromVa48(await mmu.kmapLocal(req.cpu, toNumber('pfn', req.pfn))),
    })),
    kunmapLocal: unary(async (req: KunmapLocalRequest) => {
      await mmu.kunmapLocal(req.cpu, wireVa('addr', req.addr));
      return {};
    }),
    // Each batch starts as soon as it arrives (the mmu keeps call order and pipelines the data
    // transfers); the answers go out in arrival order.
    streamAccesses: (call: ServerDuplexStream<StreamAccessesRequest, StreamAccessesResponse>) =>
      serveBatchStream(call, accessBatch, (req, err) => ({
        batchId: req.batchId,
        results: [],
        failure: err.message,
      })),
  };
}
