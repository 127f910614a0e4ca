/**
 * x86 paging-entry bits (arch/x86/include/asm/pgtable_types.h) and the pgprot values Linux builds
 * from them.
 *
 * An entry is 64 bits on x86_64 and 32 bits on non-PAE x86. pagemesh never holds one in a bigint:
 * an entry is two 32-bit words, `lo` (bits 31..0: the flags and PFN bits 19..0) and `hi`
 * (bits 63..32: PFN bits 39..20 and, at bit 31 of the word, NX). On non-PAE x86 `hi` is always 0.
 */

/** _PAGE_BIT_* positions in the low word. */
export const _PAGE_BIT_PRESENT = 0;
export const _PAGE_BIT_RW = 1;
export const _PAGE_BIT_USER = 2;
export const _PAGE_BIT_PWT = 3;
export const _PAGE_BIT_PCD = 4;
export const _PAGE_BIT_ACCESSED = 5;
export const _PAGE_BIT_DIRTY = 6;
/** PS in a PMD/PUD (x86: PGD) entry; the PAT bit in a 4 KiB PTE. */
export const _PAGE_BIT_PSE = 7;
export const _PAGE_BIT_GLOBAL = 8;
/** _PAGE_SOFTW1: _PAGE_SPECIAL (pte_mkspecial; remap_pfn_range, the zero page). */
export const _PAGE_BIT_SOFTW1 = 9;
/** _PAGE_SOFTW2: _PAGE_UFFD_WP on x86_64. */
export const _PAGE_BIT_SOFTW2 = 10;
/** _PAGE_SOFTW3: _PAGE_SOFT_DIRTY. */
export const _PAGE_BIT_SOFTW3 = 11;
/** PAT bit of a 2 MiB / 1 GiB leaf. */
export const _PAGE_BIT_PAT_LARGE = 12;

export const _PAGE_PRESENT = 1 << _PAGE_BIT_PRESENT;
export const _PAGE_RW = 1 << _PAGE_BIT_RW;
export const _PAGE_USER = 1 << _PAGE_BIT_USER;
export const _PAGE_PWT = 1 << _PAGE_BIT_PWT;
export const _PAGE_PCD = 1 << _PAGE_BIT_PCD;
export const _PAGE_ACCESSED = 1 << _PAGE_BIT_ACCESSED;
export const _PAGE_DIRTY = 1 << _PAGE_BIT_DIRTY;
export const _PAGE_PSE = 1 << _PAGE_BIT_PSE;
export const _PAGE_PAT = 1 << _PAGE_BIT_PSE;
export const _PAGE_GLOBAL = 1 << _PAGE_BIT_GLOBAL;
/** With P clear, the GLOBAL bit marks a PROT_NONE entry (_PAGE_PROTNONE): present to Linux, not to the CPU. */
export const _PAGE_PROTNONE = _PAGE_GLOBAL;
export const _PAGE_SPECIAL = 1 << _PAGE_BIT_SOFTW1;
export const _PAGE_UFFD_WP = 1 << _PAGE_BIT_SOFTW2;
export const _PAGE_SOFT_DIRTY = 1 << _PAGE_BIT_SOFTW3;

/** Bits 57 and 58 (_PAGE_SOFTW4/5) as they sit in the high word. */
export const _PAGE_SOFTW4_HI = 1 << (57 - 32);
export const _PAGE_SOFTW5_HI = 1 << (58 - 32);
/** _PAGE_NX, bit 63, as it sits in the high word (needs EFER.NXE; absent on non-PAE x86). */
export const _PAGE_NX_HI = 0x80000000;

/** The 12 flag bits of the low word (everything below the PFN). */
export const PTE_FLAGS_MASK_LO = 0xfff;

/** A protection value: the flag bits of an entry, in the same two words as an entry. */
export interface Pgprot {
  readonly lo: number;
  readonly hi: number;
}

export function pgprot(lo: number, nx = false, hi = 0): Pgprot {
  return { lo: lo >>> 0, hi: (hi | (nx ? _PAGE_NX_HI : 0)) >>> 0 };
}

/** _PAGE_TABLE: what the kernel puts in a PGD/PUD/PMD entry pointing at a user table (P|RW|US|A|D). */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
/** _KERNPG_TABLE: the same for kernel tables (P|RW|A|D). */
export const _KERNPG_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;

const P = _PAGE_PRESENT;
const RW = _PAGE_RW;
const US = _PAGE_USER;
const A = _PAGE_ACCESSED;
const D = _PAGE_DIRTY;
const G = _PAGE_GLOBAL;

/**
 * The pgprot_t values of pgtable_types.h for one architecture. On non-PAE x86 _PAGE_NX is 0, so
 * the "no exec" protections are the same as their _EXEC twins there.
 */
export interface ProtectionSet {
  readonly PAGE_NONE: Pgprot;
  readonly PAGE_SHARED: Pgprot;
  readonly PAGE_SHARED_EXEC: Pgprot;
  readonly PAGE_COPY: Pgprot;
  readonly PAGE_COPY_EXEC: Pgprot;
  readonly PAGE_READONLY: Pgprot;
  readonly PAGE_READONLY_EXEC: Pgprot;
  /** __PAGE_KERNEL: P|RW|A|D|G|NX. */
  readonly PAGE_KERNEL: Pgprot;
  readonly PAGE_KERNEL_EXEC: Pgprot;
  readonly PAGE_KERNEL_RO: Pgprot;
  /** PAGE_KERNEL | _PAGE_PSE, used for the 2 MiB / 1 GiB (x86: 4 MiB) direct map. */
  readonly PAGE_KERNEL_LARGE: Pgprot;
}

function protectionSet(hasNx: boolean): ProtectionSet {
  const nx = hasNx;
  return {
    PAGE_NONE: pgprot(_PAGE_PROTNONE | A),
    PAGE_SHARED: pgprot(P | RW | US | A, nx),
    PAGE_SHARED_EXEC: pgprot(P | RW | US | A),
    PAGE_COPY: pgprot(P | US | A, nx),
    PAGE_COPY_EXEC: pgprot(P | US | A),
    PAGE_READONLY: pgprot(P | US | A, nx),
    PAGE_READONLY_EXEC: pgprot(P | US | A),
    PAGE_KERNEL: pgprot(P | RW | A | D | G, nx),
    PAGE_KERNEL_EXEC: pgprot(P | RW | A | D | G),
    PAGE_KERNEL_RO: pgprot(P | A | D | G, nx),
    PAGE_KERNEL_LARGE: pgprot(P | RW | A | D | G | _PAGE_PSE, nx),
  };
}

/** x86_64 (NX at bit 63). */
export const PROT_X86_64: ProtectionSet = protectionSet(true);
/** Non-PAE x86: no NX bit, so PAGE_READONLY == PAGE_READONLY_EXEC. */
export const PROT_X86: ProtectionSet = protectionSet(false);

/** VM_* bits that select a protection (include/linux/mm.h). */
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;

/**
 * vm_get_page_prot(): protection_map[vm_flags & (VM_READ|VM_WRITE|VM_EXEC|VM_SHARED)] as
 * arch/x86/mm/pgprot.c fills it. Private writable mappings get read-only PTEs (COW).
 */
export function vmGetPageProt(vmFlags: number, prot: ProtectionSet): Pgprot {
  const r = (vmFlags & VM_READ) !== 0;
  const w = (vmFlags & VM_WRITE) !== 0;
  const x = (vmFlags & VM_EXEC) !== 0;
  const shared = (vmFlags & VM_SHARED) !== 0;
  if (!r && !w && !x) return prot.PAGE_NONE;
  if (w) {
    if (shared) return x ? prot.PAGE_SHARED_EXEC : prot.PAGE_SHARED;
    return x ? prot.PAGE_COPY_EXEC : prot.PAGE_COPY;
  }
  return x ? prot.PAGE_READONLY_EXEC : prot.PAGE_READONLY;
}

/** pfn_pte(pfn, prot): the entry mapping `pfn` with `prot`, as (lo, hi) words. */
export function pfnPte(pfn: number, prot: Pgprot): { lo: number; hi: number } {
  const paddr = pfn * 4096;
  return { lo: ((paddr % 2 ** 32) + prot.lo) >>> 0, hi: (Math.floor(paddr / 2 ** 32) | prot.hi) >>> 0 };
}

/** pte_present(): P, or a PROT_NONE entry (P clear, PROTNONE set). */
export function entryPresent(lo: number): boolean {
  return (lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) !== 0;
}

/** The 64-bit entry as 16 hex digits (8 on non-PAE x86), as the kernel prints a pte_t. */
export function formatEntry(lo: number, hi: number, wide = true): string {
  const l = (lo >>> 0).toString(16).padStart(8, '0');
  return wide ? `0x${(hi >>> 0).toString(16).padStart(8, '0')}${l}` : `0x${l}`;
}

/** Names of the set bits, low to high, for walk traces and debugging. */
export function describeEntry(lo: number, hi: number, isLeafLevel: boolean): string[] {
  const out: string[] = [];
  if (lo & _PAGE_PRESENT) out.push('P');
  if (lo & _PAGE_RW) out.push('RW');
  if (lo & _PAGE_USER) out.push('US');
  if (lo & _PAGE_PWT) out.push('PWT');
  if (lo & _PAGE_PCD) out.push('PCD');
  if (lo & _PAGE_ACCESSED) out.push('A');
  if (lo & _PAGE_DIRTY) out.push('D');
  if (lo & _PAGE_PSE) out.push(isLeafLevel ? 'PAT' : 'PS');
  if (lo & _PAGE_GLOBAL) out.push(lo & _PAGE_PRESENT ? 'G' : 'PROTNONE');
  if (lo & _PAGE_SPECIAL) out.push('SPECIAL');
  if (lo & _PAGE_UFFD_WP) out.push('UFFD_WP');
  if (lo & _PAGE_SOFT_DIRTY) out.push('SOFT_DIRTY');
  if (hi & _PAGE_SOFTW4_HI) out.push('SOFTW4');
  if (hi & _PAGE_SOFTW5_HI) out.push('SOFTW5');
  if (hi & _PAGE_NX_HI) out.push('NX');
  return out;
}
