import { PAGE_SHIFT, PAGE_SIZE } from '@pagemesh/uapi';
import { InvalidArgumentError } from './errors';
import { Zone, ZONE_NAMES } from './zone-type';

export type Arch = 'x86_64' | 'x86';

export interface MachineConfig {
  arch: Arch;
  /** Installed RAM in bytes, a multiple of PAGE_SIZE, 16 MiB .. 64 GiB. RAM is one range from physical 0. */
  memBytes: number;
  /** vm.min_free_kbytes set by the user (user_min_free_kbytes); default computed as Linux does. */
  minFreeKbytes?: number;
  /** Possible CPUs: only sizes SLUB slabs (calculate_order's min_objects). Default 2. */
  nrCpus?: number;
}

export const DEFAULT_MACHINE_CONFIG: MachineConfig = { arch: 'x86_64', memBytes: 4 * 2 ** 30 };

const MiB = 2 ** 20;
const GiB = 2 ** 30;
export const MIN_MEM_BYTES = 16 * MiB;
export const MAX_MEM_BYTES = 64 * GiB;

/** MAX_DMA_PFN (arch/x86/include/asm/dma.h): 16 MiB. */
export const MAX_DMA_PFN = (16 * MiB) >> PAGE_SHIFT;
/** MAX_DMA32_PFN: 4 GiB. */
export const MAX_DMA32_PFN = (4 * GiB) / PAGE_SIZE;
/** x86-32 max_low_pfn with the default 3G/1G split: MAXMEM = 896 MiB (arch/x86/include/asm/pgtable_32_areas.h). */
export const X86_32_MAX_LOW_PFN = (896 * MiB) >> PAGE_SHIFT;

/** __PAGE_OFFSET_BASE_L4 0xffff888000000000 (arch/x86/include/asm/page_64_types.h, v4.20+), held as va48. */
export const X86_64_PAGE_OFFSET = 0x8880_0000_0000;
/** CONFIG_PAGE_OFFSET for VMSPLIT_3G (arch/x86/Kconfig). */
export const X86_32_PAGE_OFFSET = 0xc000_0000;
/** __START_KERNEL_map 0xffffffff80000000 as va48: the kernel text mapping of physical 0. */
export const X86_64_START_KERNEL_MAP = 0xffff_8000_0000;

/**
 * CONFIG_PHYSICAL_START default 0x1000000 (arch/x86/Kconfig): the kernel is loaded at 16 MiB.
 * On a machine too small for that (below 32 MiB here) the relocatable kernel is modelled at
 * 1 MiB, right above the low reservation.
 */
export const PHYSICAL_START = 16 * MiB;
/**
 * [_text, _end) of the modelled kernel image: 8 MiB. A model figure (a distro kernel with its
 * bss and brk is larger; a tinyconfig one smaller), chosen so that a 16 MiB machine still has
 * half its memory to hand out.
 */
export const KERNEL_IMAGE_BYTES = 8 * MiB;
/**
 * The whole first 1 MiB is memblock_reserve()d unconditionally since v5.13:
 * arch/x86/realmode/init.c reserve_real_mode(): "Unconditionally reserve the entire first 1M,
 * see comment in setup_arch()" (BIOS data, the real-mode trampoline, BIOS corruption).
 */
export const LOW_RESERVE_BYTES = 1 * MiB;
/** sizeof(struct page): 64 on x86_64 (include/linux/mm_types.h), 32 on x86-32. */
export const STRUCT_PAGE_SIZE: Readonly<Record<Arch, number>> = { x86_64: 64, x86: 32 };

export interface ZoneSpan {
  zone: Zone;
  name: string;
  /** zone_start_pfn */
  startPfn: number;
  /** zone_end_pfn (exclusive); spanned = endPfn - startPfn (0 for an empty zone) */
  endPfn: number;
}

export interface BootReservation {
  name: string;
  startPfn: number;
  endPfn: number;
  source: string;
}

export interface MachineProfile {
  readonly arch: Arch;
  readonly memBytes: number;
  /** max_pfn: one past the last PFN of RAM. */
  readonly maxPfn: number;
  /** max_low_pfn: end of lowmem (the direct map). Equal to maxPfn on x86_64. */
  readonly maxLowPfn: number;
  /** PAGE_OFFSET as a va48 number. */
  readonly pageOffset: number;
  /** Bytes of RAM with a permanent kernel mapping (lowmem). */
  readonly lowmemLimit: number;
  /** Configured zones in kernel order (the zone index is the position), populated or not. */
  readonly zones: readonly ZoneSpan[];
  readonly reservations: readonly BootReservation[];
  readonly structPageSize: number;
  readonly hasHighmem: boolean;
  /** VMALLOC_START / VMALLOC_END (inclusive on x86_64) as va48 numbers. */
  readonly vmallocStart: number;
  readonly vmallocEnd: number;
  /** VMALLOC_TOTAL >> 10, as /proc/meminfo prints it. */
  readonly vmallocTotalKb: number;
  readonly nrCpus: number;
  readonly minFreeKbytes: number | undefined;
  /**
   * empty_zero_page: a page of the kernel image's bss, PG_reserved, never written. Read faults
   * on anonymous memory map it (modelled as the last page of the kernel image).
   */
  readonly zeroPagePfn: number;
}

export function validateMachineConfig(config: Partial<MachineConfig> | undefined): MachineConfig {
  // Fields left undefined (an optional rpc field, say) take their default.
  const given = Object.fromEntries(Object.entries(config ?? {}).filter(([, v]) => v !== undefined));
  const merged: MachineConfig = { ...DEFAULT_MACHINE_CONFIG, ...given };
  if (merged.arch !== 'x86_64' && merged.arch !== 'x86') {
    throw new InvalidArgumentError('arch', merged.arch, "must be 'x86_64' or 'x86'");
  }
  const mem = merged.memBytes;
  if (!Number.isSafeInteger(mem) || mem < MIN_MEM_BYTES || mem > MAX_MEM_BYTES) {
    throw new InvalidArgumentError(
      'memBytes',
      mem,
      `must be an integer from ${MIN_MEM_BYTES} (16 MiB) to ${MAX_MEM_BYTES} (64 GiB)`,
    );
  }
  if (mem % PAGE_SIZE !== 0) {
    throw new InvalidArgumentError('memBytes', mem, `must be a multiple of PAGE_SIZE (${PAGE_SIZE})`);
  }
  if (merged.minFreeKbytes !== undefined) {
    const v = merged.minFreeKbytes;
    if (!Number.isSafeInteger(v) || v < 0 || v > 2 ** 31 - 1) {
      throw new InvalidArgumentError(
        'minFreeKbytes',
        v,
        'must be an integer from 0 to INT_MAX (proc_dointvec_minmax, extra1 = 0)',
      );
    }
  }
  if (
    merged.nrCpus !== undefined &&
    (!Number.isInteger(merged.nrCpus) || merged.nrCpus < 1 || merged.nrCpus > 8192)
  ) {
    throw new InvalidArgumentError('nrCpus', merged.nrCpus, 'must be an integer from 1 to 8192 (NR_CPUS)');
  }
  return merged;
}

function span(zone: Zone, startPfn: number, endPfn: number): ZoneSpan {
  const empty = endPfn <= startPfn;
  return { zone, name: ZONE_NAMES[zone], startPfn: empty ? 0 : startPfn, endPfn: empty ? 0 : endPfn };
}

/** Zone spans as zone_sizes_init() (arch/x86/mm/init.c) computes them from max_zone_pfns[]. */
export function buildMachineProfile(config: MachineConfig): MachineProfile {
  const { arch, memBytes } = config;
  const maxPfn = memBytes / PAGE_SIZE;
  const is64 = arch === 'x86_64';
  const maxLowPfn = is64 ? maxPfn : Math.min(maxPfn, X86_32_MAX_LOW_PFN);
  const dmaEnd = Math.min(MAX_DMA_PFN, maxLowPfn);
  const zones: ZoneSpan[] = is64
    ? [
        span(Zone.DMA, 0, dmaEnd),
        span(Zone.DMA32, dmaEnd, Math.min(MAX_DMA32_PFN, maxLowPfn)),
        span(Zone.Normal, Math.min(MAX_DMA32_PFN, maxLowPfn), maxLowPfn),
        span(Zone.Movable, 0, 0),
      ]
    : [
        span(Zone.DMA, 0, dmaEnd),
        span(Zone.Normal, dmaEnd, maxLowPfn),
        span(Zone.HighMem, maxLowPfn, maxPfn),
        span(Zone.Movable, 0, 0),
      ];

  const structPageSize = STRUCT_PAGE_SIZE[arch];
  const lowPages = LOW_RESERVE_BYTES / PAGE_SIZE;
  const imageStart = memBytes >= 32 * MiB ? PHYSICAL_START : LOW_RESERVE_BYTES;
  const imagePages = KERNEL_IMAGE_BYTES / PAGE_SIZE;
  const imageStartPfn = imageStart / PAGE_SIZE;
  const memmapPages = Math.ceil((maxPfn * structPageSize) / PAGE_SIZE);
  const reservations: BootReservation[] = [
    {
      name: 'low 1 MiB',
      startPfn: 0,
      endPfn: lowPages,
      source: 'arch/x86/realmode/init.c reserve_real_mode(): memblock_reserve(0, SZ_1M) (v5.13+)',
    },
    {
      name: 'kernel image',
      startPfn: imageStartPfn,
      endPfn: imageStartPfn + imagePages,
      source:
        'arch/x86/kernel/setup.c early_reserve_memory(): memblock_reserve(__pa_symbol(_text), __end_of_kernel_reserve - _text) at CONFIG_PHYSICAL_START',
    },
    {
      name: 'mem_map',
      startPfn: maxLowPfn - memmapPages,
      endPfn: maxLowPfn,
      source:
        'mm/sparse-vmemmap.c / mm/mm_init.c: struct page array from memblock, top-down below the memblock limit',
    },
  ];

  const vmalloc = is64
    ? // VMALLOC_START 0xffffc90000000000, VMALLOC_END 0xffffe8ffffffffff (pgtable_64_types.h, 4-level)
      { start: 0xc900_0000_0000, end: 0xe8ff_ffff_ffff, totalKb: 34359738367 }
    : x86_32Vmalloc(maxLowPfn);

  return {
    arch,
    memBytes,
    maxPfn,
    maxLowPfn,
    pageOffset: is64 ? X86_64_PAGE_OFFSET : X86_32_PAGE_OFFSET,
    lowmemLimit: maxLowPfn * PAGE_SIZE,
    zones,
    reservations,
    structPageSize,
    hasHighmem: !is64,
    vmallocStart: vmalloc.start,
    vmallocEnd: vmalloc.end,
    vmallocTotalKb: vmalloc.totalKb,
    nrCpus: config.nrCpus ?? 2,
    minFreeKbytes: config.minFreeKbytes,
    zeroPagePfn: imageStartPfn + imagePages - 1,
  };
}

/**
 * x86-32: VMALLOC_START = (high_memory + VMALLOC_OFFSET) & ~(VMALLOC_OFFSET - 1) with an 8 MiB
 * VMALLOC_OFFSET; VMALLOC_END = PKMAP_BASE - 2 * PAGE_SIZE with the common PKMAP_BASE 0xff800000
 * (arch/x86/include/asm/pgtable_32_areas.h; the exact PKMAP_BASE depends on the fixmap size).
 */
function x86_32Vmalloc(maxLowPfn: number): { start: number; end: number; totalKb: number } {
  const VMALLOC_OFFSET = 8 * MiB;
  const highMemory = X86_32_PAGE_OFFSET + maxLowPfn * PAGE_SIZE;
  const start = Math.floor((highMemory + VMALLOC_OFFSET) / VMALLOC_OFFSET) * VMALLOC_OFFSET;
  const end = 0xff80_0000 - 2 * PAGE_SIZE;
  return { start, end, totalKb: Math.floor((end - start) / 1024) };
}
