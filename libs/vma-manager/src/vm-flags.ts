/**
 * VM_* flags with the values of include/linux/mm.h (Linux 6.18, x86-64).
 *
 * vm_flags is 64-bit in the kernel and pagemesh uses bits above 31 (VM_DROPPABLE is bit 40,
 * VM_SEALED bit 42). JS bitwise operators truncate to 32 bits, so a flags word is kept as a
 * plain non-negative integer number (exact up to 2^53) and combined only through the helpers
 * below, which split it into two 32-bit halves.
 */

const TWO32 = 0x1_0000_0000;

export const VM_NONE = 0;
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_GROWSDOWN = 0x100;
export const VM_UFFD_MISSING = 0x200;
export const VM_PFNMAP = 0x400;
/** 6.18: bit 11 (was VM_DENYWRITE) marks a VMA that may hold guard markers; sticky, ignored by merges. */
export const VM_MAYBE_GUARD = 0x800;
export const VM_UFFD_WP = 0x1000;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
export const VM_SEQ_READ = 0x8000;
export const VM_RAND_READ = 0x10000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_LOCKONFAULT = 0x80000;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
export const VM_HUGETLB = 0x400000;
export const VM_SYNC = 0x800000;
export const VM_ARCH_1 = 0x1000000;
export const VM_WIPEONFORK = 0x2000000;
export const VM_DONTDUMP = 0x4000000;
/** 0 on the reference kernel: built without CONFIG_MEM_SOFT_DIRTY, so `sd` never appears. */
export const VM_SOFTDIRTY = 0;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;
export const VM_MERGEABLE = 0x80000000;
/** VM_HIGH_ARCH_BIT_0..: bit 40 droppable, bit 41 uffd-minor, bit 42 sealed (x86-64). */
export const VM_DROPPABLE = 2 ** 40;
export const VM_UFFD_MINOR = 2 ** 41;
export const VM_SEALED = 2 ** 42;

export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;
/** Flags a merge ignores (VM_IGNORE_MERGE): soft-dirty and the sticky guard hint. */
export const VM_IGNORE_MERGE = VM_SOFTDIRTY | VM_MAYBE_GUARD;
/** Flags that survive merges and splits once set (VM_STICKY, 6.18). */
export const VM_STICKY = VM_MAYBE_GUARD;
/** Flags that prevent mlock from setting VM_LOCKED (VM_LOCKED_CLEAR_MASK and friends). */
export const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;

function lo(x: number): number {
  return x >>> 0;
}
function hi(x: number): number {
  return (x - (x >>> 0)) / TWO32;
}
function join(h: number, l: number): number {
  return (h >>> 0) * TWO32 + (l >>> 0);
}

/** True when any bit of `mask` is set in `flags`. */
export function hasAny(flags: number, mask: number): boolean {
  if (flags < TWO32 && mask < TWO32) return (flags & mask) !== 0;
  return (lo(flags) & lo(mask)) !== 0 || (hi(flags) & hi(mask)) !== 0;
}

/** flags | mask */
export function setFlags(flags: number, mask: number): number {
  if (flags < TWO32 && mask < TWO32) return (flags | mask) >>> 0;
  return join(hi(flags) | hi(mask), lo(flags) | lo(mask));
}

/** flags & ~mask */
export function clearFlags(flags: number, mask: number): number {
  if (flags < TWO32 && mask < TWO32) return (flags & ~mask) >>> 0;
  return join(hi(flags) & ~hi(mask), lo(flags) & ~lo(mask));
}

/** flags & mask */
export function maskFlags(flags: number, mask: number): number {
  if (flags < TWO32 && mask < TWO32) return (flags & mask) >>> 0;
  return join(hi(flags) & hi(mask), lo(flags) & lo(mask));
}

/** ((a ^ b) & ~ignore) === 0: equal apart from the ignored bits. */
export function flagsEqualIgnoring(a: number, b: number, ignore: number): boolean {
  if (a < TWO32 && b < TWO32 && ignore < TWO32) return ((a ^ b) & ~ignore) === 0;
  return ((lo(a) ^ lo(b)) & ~lo(ignore)) === 0 && ((hi(a) ^ hi(b)) & ~hi(ignore)) === 0;
}

/**
 * The two-letter codes of `VmFlags:` in /proc/PID/smaps, in bit order
 * (fs/proc/task_mmu.c show_smap_vma_flags, x86-64 with the 6.18 configuration of the oracle).
 */
export const VM_FLAG_MNEMONICS: ReadonlyArray<readonly [number, string]> = (
  [
    [VM_READ, 'rd'],
    [VM_WRITE, 'wr'],
    [VM_EXEC, 'ex'],
    [VM_SHARED, 'sh'],
    [VM_MAYREAD, 'mr'],
    [VM_MAYWRITE, 'mw'],
    [VM_MAYEXEC, 'me'],
    [VM_MAYSHARE, 'ms'],
    [VM_GROWSDOWN, 'gd'],
    [VM_PFNMAP, 'pf'],
    [VM_MAYBE_GUARD, 'gu'],
    [VM_LOCKED, 'lo'],
    [VM_IO, 'io'],
    [VM_SEQ_READ, 'sr'],
    [VM_RAND_READ, 'rr'],
    [VM_DONTCOPY, 'dc'],
    [VM_DONTEXPAND, 'de'],
    [VM_LOCKONFAULT, 'lf'],
    [VM_ACCOUNT, 'ac'],
    [VM_NORESERVE, 'nr'],
    [VM_HUGETLB, 'ht'],
    [VM_SYNC, 'sf'],
    [VM_ARCH_1, 'ar'],
    [VM_WIPEONFORK, 'wf'],
    [VM_DONTDUMP, 'dd'],
    [VM_MIXEDMAP, 'mm'],
    [VM_HUGEPAGE, 'hg'],
    [VM_NOHUGEPAGE, 'nh'],
    [VM_MERGEABLE, 'mg'],
    [VM_UFFD_MISSING, 'um'],
    [VM_UFFD_WP, 'uw'],
    [VM_DROPPABLE, 'dp'],
    [VM_UFFD_MINOR, 'ui'],
    [VM_SEALED, 'sl'],
  ] as Array<readonly [number, string]>
).sort((a, b) => a[0] - b[0]);

/** `VmFlags:` value without the trailing space: "rd wr mr mw me ac". */
export function vmFlagsMnemonics(flags: number): string {
  const out: string[] = [];
  for (const [bit, code] of VM_FLAG_MNEMONICS) if (hasAny(flags, bit)) out.push(code);
  return out.join(' ');
}
