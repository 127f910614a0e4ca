import { InvalidArgumentError } from './errors';
import { MachineProfile, X86_64_START_KERNEL_MAP } from './machine-profile';

/**
 * __pa() (arch/x86/include/asm/page_64.h __phys_addr_nodebug, page_32.h): a direct-map (lowmem)
 * address minus PAGE_OFFSET; on x86_64 also the kernel text mapping, __START_KERNEL_map + pa
 * (phys_base 0 without KASLR), for the kernel image's first 512 MiB. Anything else (vmalloc,
 * kmap, user addresses) is refused, as CONFIG_DEBUG_VIRTUAL would.
 */
export function virtToPhys(p: MachineProfile, va: number): number {
  if (!Number.isSafeInteger(va) || va < 0) throw new InvalidArgumentError('va', va, 'must be a va48 number');
  if (p.arch === 'x86_64' && va >= X86_64_START_KERNEL_MAP) {
    const pa = va - X86_64_START_KERNEL_MAP;
    if (pa < p.memBytes && pa < 512 * 2 ** 20) return pa;
  } else if (va >= p.pageOffset && va < p.pageOffset + p.lowmemLimit) {
    return va - p.pageOffset;
  }
  throw new InvalidArgumentError(
    'va',
    va,
    `is not a direct-map address (lowmem is [0x${p.pageOffset.toString(16)}, 0x${(p.pageOffset + p.lowmemLimit).toString(16)}))`,
  );
}

/** __va(): PAGE_OFFSET + pa, for lowmem physical addresses only. */
export function physToVirt(p: MachineProfile, pa: number): number {
  if (!Number.isSafeInteger(pa) || pa < 0 || pa >= p.lowmemLimit) {
    throw new InvalidArgumentError(
      'pa',
      pa,
      `must be a lowmem physical address (below 0x${p.lowmemLimit.toString(16)})`,
    );
  }
  return pa + p.pageOffset;
}
