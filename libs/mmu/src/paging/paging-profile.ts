import { PROT_X86, PROT_X86_64, type ProtectionSet } from './pte-bits';

export type Arch = 'x86_64' | 'x86';

/** Level names as the kernel spells them; the P4D level of x86_64 is folded (4-level paging). */
export type LevelName = 'PGD' | 'PUD' | 'PMD' | 'PTE';

/**
 * The geometry of one paging mode and the kernel's address layout on it.
 *
 * Addresses are va48 numbers (see docs/architecture.md, "64-bit values"): on x86_64 a kernel
 * address such as 0xffff888000000000 is held as 0x888000000000; on x86 an address is its 32-bit
 * value.
 */
export interface PagingProfile {
  readonly arch: Arch;
  readonly levelNames: readonly LevelName[];
  /** VA shift of each level: x86_64 [39, 30, 21, 12] (pgtable_64_types.h), x86 [22, 12] (pgtable-2level_types.h). */
  readonly shifts: readonly number[];
  /** 2^shift of each level, so a level's index is `(va / span) & (entries - 1)` for 48-bit values. */
  readonly spans: readonly number[];
  /** PTRS_PER_*: 512 (8-byte entries) or 1024 (4-byte entries); a table is always 4 KiB. */
  readonly entriesPerTable: number;
  /** 32-bit words per entry: 2 on x86_64, 1 on non-PAE x86. */
  readonly entryWords: 1 | 2;
  /** Number of significant VA bits: 48 (canonical addresses) or 32. */
  readonly vaBits: number;
  /** Whether a PS entry at this level is a leaf: x86_64 PUD (1 GiB) and PMD (2 MiB); x86 PGD (4 MiB). */
  readonly hugeAt: readonly boolean[];
  readonly hasNx: boolean;
  /** MAXPHYADDR of the simulated CPU; PFN bits at or above it are reserved (#PF with RSVD). */
  readonly maxPhysBits: number;
  readonly prot: ProtectionSet;
  /** PGD index where the kernel half starts: 256 on x86_64, PAGE_OFFSET >> 22 = 768 on x86. */
  readonly kernelPgdStart: number;
  /** First kernel (va48) address. */
  readonly kernelStart: number;
  /** TASK_SIZE_MAX: the end of user space. */
  readonly taskSize: number;
  readonly pageOffset: number;
  readonly vmallocStart: number;
  /** Exclusive end of the vmalloc area as the area allocator uses it. */
  readonly vmallocEnd: number;
  /** x86 only: PKMAP_BASE and LAST_PKMAP (persistent kmap slots). */
  readonly pkmapBase: number;
  readonly lastPkmap: number;
  /** x86 only: FIXADDR_TOP and the first fixmap index used by kmap_local (FIX_KMAP_BEGIN). */
  readonly fixaddrTop: number;
  readonly fixKmapBegin: number;
}

const TIB = 2 ** 40;
const MIB = 2 ** 20;

/** x86_64 4-level layout without KASLR (Documentation/arch/x86/x86_64/mm.rst), as va48 values. */
export const X86_64_PAGE_OFFSET = 0x888000000000; // 0xffff888000000000 (__PAGE_OFFSET_BASE_L4, v4.20+)
export const X86_64_VMALLOC_START = 0xc90000000000; // 0xffffc90000000000
export const X86_64_VMALLOC_SIZE_TB = 32; // VMALLOC_SIZE_TB_L4
export const X86_64_TASK_SIZE_MAX = 0x7ffffffff000; // (1 << 47) - PAGE_SIZE

/** x86-32, VMSPLIT_3G, non-PAE. */
export const X86_PAGE_OFFSET = 0xc0000000;
/** VMALLOC_OFFSET: the 8 MiB hole after high_memory (pgtable_32_areas.h). */
export const X86_VMALLOC_OFFSET = 8 * MIB;
/**
 * PKMAP_BASE depends on the fixmap size of a configuration; 0xff800000 is what a non-PAE
 * HIGHMEM kernel prints at boot ("pkmap : 0xff800000 - 0xffc00000"), LAST_PKMAP = 1024 slots.
 */
export const X86_PKMAP_BASE = 0xff800000;
export const X86_LAST_PKMAP = 1024;
/** FIXADDR_TOP = -PAGE_SIZE on 32-bit. */
export const X86_FIXADDR_TOP = 0xfffff000;
/** FIX_KMAP_BEGIN is configuration dependent; 16 leaves room for the fixed slots below it. */
export const X86_FIX_KMAP_BEGIN = 16;
/** KM_MAX_IDX: kmap_local slots per CPU (include/asm-generic/kmap_size.h). */
export const KM_MAX_IDX = 16;
/** MAXMEM on a 3G/1G split: the classic 896 MiB of lowmem. */
export const X86_MAXMEM = 896 * MIB;

function spansOf(shifts: readonly number[]): number[] {
  return shifts.map((s) => 2 ** s);
}

export function x86_64Profile(): PagingProfile {
  const shifts = [39, 30, 21, 12];
  return {
    arch: 'x86_64',
    levelNames: ['PGD', 'PUD', 'PMD', 'PTE'],
    shifts,
    spans: spansOf(shifts),
    entriesPerTable: 512,
    entryWords: 2,
    vaBits: 48,
    hugeAt: [false, true, true, false],
    hasNx: true,
    maxPhysBits: 46,
    prot: PROT_X86_64,
    kernelPgdStart: 256,
    kernelStart: 2 ** 47,
    taskSize: X86_64_TASK_SIZE_MAX,
    pageOffset: X86_64_PAGE_OFFSET,
    vmallocStart: X86_64_VMALLOC_START,
    vmallocEnd: X86_64_VMALLOC_START + X86_64_VMALLOC_SIZE_TB * TIB,
    pkmapBase: 0,
    lastPkmap: 0,
    fixaddrTop: 0,
    fixKmapBegin: 0,
  };
}

/**
 * Non-PAE x86 with HIGHMEM. `lowmemBytes` (the direct-mapped part of RAM, at most 896 MiB) fixes
 * high_memory and so VMALLOC_START = (high_memory + VMALLOC_OFFSET) & ~(VMALLOC_OFFSET - 1).
 */
export function x86Profile(lowmemBytes: number): PagingProfile {
  const shifts = [22, 12];
  const highMemory = X86_PAGE_OFFSET + lowmemBytes;
  const vmallocStart =
    Math.floor((highMemory + X86_VMALLOC_OFFSET) / X86_VMALLOC_OFFSET) * X86_VMALLOC_OFFSET;
  return {
    arch: 'x86',
    levelNames: ['PGD', 'PTE'],
    shifts,
    spans: spansOf(shifts),
    entriesPerTable: 1024,
    entryWords: 1,
    vaBits: 32,
    hugeAt: [true, false],
    hasNx: false,
    maxPhysBits: 32,
    prot: PROT_X86,
    kernelPgdStart: X86_PAGE_OFFSET / 2 ** 22,
    kernelStart: X86_PAGE_OFFSET,
    taskSize: X86_PAGE_OFFSET,
    pageOffset: X86_PAGE_OFFSET,
    vmallocStart,
    vmallocEnd: X86_PKMAP_BASE - 2 * 4096, // VMALLOC_END = PKMAP_BASE - 2 * PAGE_SIZE
    pkmapBase: X86_PKMAP_BASE,
    lastPkmap: X86_LAST_PKMAP,
    fixaddrTop: X86_FIXADDR_TOP,
    fixKmapBegin: X86_FIX_KMAP_BEGIN,
  };
}

/** The table index of `va` at `level`: pgd_index, pud_index, pmd_index, pte_index. */
export function levelIndex(p: PagingProfile, va: number, level: number): number {
  return Math.floor(va / p.spans[level]) & (p.entriesPerTable - 1);
}

/** The address split as (index per level, page offset): the worked examples of kernel-semantics §7.1. */
export function splitAddress(p: PagingProfile, va: number): { indices: number[]; offset: number } {
  return { indices: p.shifts.map((_, l) => levelIndex(p, va, l)), offset: va % 4096 };
}

/** Is `va` a valid address number for the profile (a va48, or a 32-bit value on x86)? */
export function isVa(p: PagingProfile, va: number): boolean {
  return Number.isInteger(va) && va >= 0 && va < 2 ** p.vaBits;
}

export function isKernelAddress(p: PagingProfile, va: number): boolean {
  return va >= p.kernelStart;
}
