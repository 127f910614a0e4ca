import { status, type ServiceError } from '@grpc/grpc-js';
import type {
  DriverMmuPort,
  DriverPageAllocatorPort,
  DriverPorts,
  PhysRange,
  PhysWrite,
} from '@pagemesh/device-drivers';
import type { MachineArch } from '@pagemesh/mmu';
import { toBigints, toNumber, toNumbers } from '@pagemesh/page-allocator-rpc';
import {
  AllocPagesRequest,
  Arch,
  ChangePageFlagsRequest,
  Errno,
  FreePagesRequest,
  type MmuServiceClient,
  type PageAllocatorServiceClient,
  PageFlag,
} from '@pagemesh/proto';
import { DomainError, promisifyUnary } from '@pagemesh/service-kit';
import { PAGE_SIZE, canonicalFromVa48, va48FromCanonical } from '@pagemesh/uapi';

/** __START_KERNEL_map 0xffffffff80000000 (arch/x86/include/asm/page_64_types.h), held as va48. */
const X86_64_START_KERNEL_MAP = 0xffff_8000_0000;
/** KERNEL_IMAGE_SIZE without KASLR (arch/x86/include/asm/page_64_types.h): 512 MiB. */
const KERNEL_IMAGE_SIZE = 512 * 2 ** 20;
/** GetPages answers at most this many PFNs per call (MAX_GET_PAGES of the page-allocator service). */
const MAX_GET_PAGES = 4096;

/** The direct map as the page allocator describes it (GetMachine), for __pa and page_address. */
interface DirectMap {
  readonly arch: MachineArch;
  readonly memBytes: number;
  readonly maxPfn: number;
  /** PAGE_OFFSET as va48. */
  readonly pageOffset: number;
  /** Bytes of lowmem: the direct map covers [PAGE_OFFSET, PAGE_OFFSET + lowmemEnd). */
  readonly lowmemEnd: number;
}

/**
 * A kernel virtual address from a lower service's response: canonical 64-bit → va48. A
 * non-canonical one is that service's bug, not the caller's: a plain Error (INTERNAL).
 */
function kernelVa(field: string, value: bigint): number {
  const va = va48FromCanonical(value);
  if (va === null) throw new Error(`${field}=0x${value.toString(16)} from a lower service: not canonical`);
  return va;
}

/**
 * virt_to_pfn(): __pa() of a direct-map (lowmem) address, or on x86_64 of the kernel text mapping
 * (phys_base 0), shifted by PAGE_SHIFT. The same arithmetic the page allocator's virtToPfn does,
 * done here so that a driver's init does not pay a call per page; anything else is refused.
 */
export function directMapVirtToPfn(m: DirectMap, va: number): number {
  if (Number.isSafeInteger(va)) {
    if (m.arch === 'x86_64' && va >= X86_64_START_KERNEL_MAP) {
      const pa = va - X86_64_START_KERNEL_MAP;
      if (pa < m.memBytes && pa < KERNEL_IMAGE_SIZE) return Math.floor(pa / PAGE_SIZE);
    } else if (va >= m.pageOffset && va < m.pageOffset + m.lowmemEnd) {
      return Math.floor((va - m.pageOffset) / PAGE_SIZE);
    }
  }
  throw new DomainError(
    'invalid-argument',
    `va=0x${canonicalFromVa48(Number.isSafeInteger(va) && va >= 0 ? va : 0).toString(16)}: not a direct-map address`,
    { field: 'va', value: va },
  );
}

/** page_address(): PAGE_OFFSET + PFN_PHYS(pfn) for lowmem, null for highmem (x86 above max_low_pfn). */
export function directMapPageAddress(m: DirectMap, pfn: number): number | null {
  if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn >= m.maxPfn)
    throw new DomainError('invalid-argument', `pfn=${pfn}: must be an integer below max_pfn (${m.maxPfn})`, {
      field: 'pfn',
      value: pfn,
    });
  return pfn * PAGE_SIZE < m.lowmemEnd ? m.pageOffset + pfn * PAGE_SIZE : null;
}

/** Runs of consecutive PFNs, so that PageReserved of a contiguous area is one GetPages call. */
function runs(pfns: readonly number[]): { start: number; count: number }[] {
  const out: { start: number; count: number }[] = [];
  for (const pfn of pfns) {
    const last = out[out.length - 1];
    if (last && last.start + last.count === pfn && last.count < MAX_GET_PAGES) last.count++;
    else out.push({ start: pfn, count: 1 });
  }
  return out;
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as ServiceError).code === status.NOT_FOUND;
}

/**
 * The drivers' ports over the page-allocator and mmu services. Each method is one call whatever
 * the batch size, except PageReserved (one GetPages per run of consecutive PFNs) and
 * vmalloc_to_pfn over a partly unmapped range (page by page, to say which pages are unmapped).
 * virt_to_pfn and page_address are arithmetic on the direct map GetMachine describes.
 */
export function grpcDriverPorts(
  pageAllocatorClient: PageAllocatorServiceClient,
  mmuClient: MmuServiceClient,
): DriverPorts {
  const getMachine = promisifyUnary(pageAllocatorClient, 'getMachine');
  const kmallocCall = promisifyUnary(pageAllocatorClient, 'kmalloc');
  const kfreeCall = promisifyUnary(pageAllocatorClient, 'kfree');
  const allocPagesCall = promisifyUnary(pageAllocatorClient, 'allocPages');
  const freePagesCall = promisifyUnary(pageAllocatorClient, 'freePages');
  const changePageFlags = promisifyUnary(pageAllocatorClient, 'changePageFlags');
  const getPages = promisifyUnary(pageAllocatorClient, 'getPages');
  const readPhysCall = promisifyUnary(pageAllocatorClient, 'readPhys');
  const writePhysCall = promisifyUnary(pageAllocatorClient, 'writePhys');
  const getPagingInfo = promisifyUnary(mmuClient, 'getPagingInfo');
  const vmallocCall = promisifyUnary(mmuClient, 'vmalloc');
  const vfreeCall = promisifyUnary(mmuClient, 'vfree');
  const vmallocToPfn = promisifyUnary(mmuClient, 'vmallocToPfn');

  // The machine does not change once booted: ask once.
  let directMap: Promise<DirectMap> | null = null;
  const machine = (): Promise<DirectMap> => {
    directMap ??= getMachine({}).then(
      (m) => ({
        arch: m.arch === Arch.ARCH_X86 ? 'x86' : 'x86_64',
        memBytes: toNumber('mem_bytes', m.memBytes),
        maxPfn: toNumber('max_pfn', m.maxPfn),
        pageOffset: kernelVa('page_offset', m.pageOffset),
        lowmemEnd: toNumber('lowmem_end', m.lowmemEnd),
      }),
      (err: unknown) => {
        directMap = null;
        throw err;
      },
    );
    return directMap;
  };

  const changeReserved = async (pfns: readonly number[], set: boolean): Promise<void> => {
    if (pfns.length === 0) return;
    const flags = [PageFlag.PAGE_FLAG_RESERVED];
    await changePageFlags(
      ChangePageFlagsRequest.fromPartial({
        pfns: toBigints(pfns),
        set: set ? flags : [],
        clear: set ? [] : flags,
      }),
    );
  };

  const pageAllocator: DriverPageAllocatorPort = {
    async kmalloc(size, gfp) {
      const res = await kmallocCall({ size: BigInt(size), gfpMask: gfp });
      if (res.errno !== Errno.ERRNO_UNSPECIFIED) return null;
      // ZERO_SIZE_PTR (16) is not canonical-high: it comes back as it went.
      return kernelVa('addr', res.addr);
    },
    async kfree(addr) {
      await kfreeCall({ addr: canonicalFromVa48(addr) });
    },
    async virtToPfns(addrs) {
      const m = await machine();
      return addrs.map((va) => directMapVirtToPfn(m, va));
    },
    async pageAddresses(pfns) {
      const m = await machine();
      return pfns.map((pfn) => directMapPageAddress(m, pfn));
    },
    async allocPages(gfp, order) {
      const res = await allocPagesCall(AllocPagesRequest.fromPartial({ gfpMask: gfp, order, count: 1 }));
      return res.errno === Errno.ERRNO_UNSPECIFIED && res.pfns.length === 1
        ? toNumber('pfns[0]', res.pfns[0])
        : null;
    },
    async freePages(pfn, order) {
      await freePagesCall(FreePagesRequest.fromPartial({ pfns: [BigInt(pfn)], order }));
    },
    setPagesReserved: (pfns) => changeReserved(pfns, true),
    clearPagesReserved: (pfns) => changeReserved(pfns, false),
    async testPagesReserved(pfns) {
      const answers = await Promise.all(
        runs(pfns).map((r) => getPages({ startPfn: BigInt(r.start), count: r.count })),
      );
      const reserved = new Map<number, boolean>();
      for (const { pages } of answers)
        for (const p of pages) reserved.set(Number(p.pfn), p.flags.includes(PageFlag.PAGE_FLAG_RESERVED));
      return pfns.map((pfn) => reserved.get(pfn) ?? false);
    },
    async readPhys(ranges: readonly PhysRange[]) {
      if (ranges.length === 0) return [];
      const res = await readPhysCall({
        ranges: ranges.map((r) => ({ paddr: BigInt(r.paddr), length: r.length })),
      });
      return res.data.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    },
    async writePhys(writes: readonly PhysWrite[]) {
      if (writes.length === 0) return;
      await writePhysCall({
        writes: writes.map((w) => ({
          paddr: BigInt(w.paddr),
          data: Buffer.from(w.bytes.buffer, w.bytes.byteOffset, w.bytes.byteLength),
        })),
      });
    },
  };

  let arch: Promise<MachineArch> | null = null;
  const mmu: DriverMmuPort = {
    arch() {
      // 4-level paging is x86_64; 2-level is x86 without PAE (the only x86 the mmu models).
      arch ??= getPagingInfo({}).then(
        (info) => (info.levels === 4 ? 'x86_64' : 'x86'),
        (err: unknown) => {
          arch = null;
          throw err;
        },
      );
      return arch;
    },
    async vmalloc(size) {
      const res = await vmallocCall({ size: BigInt(size) });
      return res.errno === Errno.ERRNO_UNSPECIFIED ? kernelVa('addr', res.addr) : null;
    },
    async vfree(addr) {
      await vfreeCall({ addr: canonicalFromVa48(addr) });
    },
    async vmallocToPfns(addr, count) {
      if (count === 0) return [];
      try {
        return toNumbers('pfns', (await vmallocToPfn({ addr: canonicalFromVa48(addr), count })).pfns);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      // Some page is unmapped: the service refuses the whole range, so ask page by page.
      return Promise.all(
        Array.from({ length: count }, (_, i) =>
          vmallocToPfn({ addr: canonicalFromVa48(addr + i * PAGE_SIZE), count: 1 }).then(
            (r) => toNumber('pfns[0]', r.pfns[0]),
            (err: unknown) => {
              if (isNotFound(err)) return null;
              throw err;
            },
          ),
        ),
      );
    },
  };

  return { pageAllocator, mmu };
}
