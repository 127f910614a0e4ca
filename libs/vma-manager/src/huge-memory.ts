/**
 * Transparent huge pages for anonymous memory, THP `enabled=madvise` with `use_zero_page=1`
 * (mm/huge_memory.c): which faults map a whole 2 MiB folio with one PMD leaf, the huge zero
 * folio for read faults, the write fault on a huge PMD (do_huge_pmd_wp_page), and splitting a
 * huge PMD into PTEs (__split_huge_pmd) when an operation covers only part of it.
 *
 * Folio references as the kernel keeps them: a PMD mapping holds one reference on the folio
 * and raises the mapcount of each of its pages; a split turns the one reference into one per
 * PTE (folio_ref_add(folio, HPAGE_PMD_NR - 1)), the mapcounts stay. The huge zero folio is
 * mapped special: no reference, no mapcount, no RSS; split, its 512 PTEs map ZERO_PAGE.
 *
 * Not modelled: khugepaged (collapsing 4 KiB pages into a THP later: asynchronous in Linux),
 * the deferred split of partly unmapped folios (the folio stays order 9 until freed, as the
 * page allocator sees it), and mTHP sizes other than PMD (all `never` by default).
 */
import { GFP } from '@pagemesh/page-allocator';

import type { FaultResult, MmProcess } from './process';
import type { VaRange } from './ports';
import type { Vma } from './vma';
import { anonVmaPrepare } from './populate';
import { VM_EXEC, VM_HUGEPAGE, VM_IO, VM_NOHUGEPAGE, VM_PFNMAP, VM_SHARED, hasAny } from './vm-flags';

/** HPAGE_PMD_ORDER on x86-64: a PMD maps 2^9 pages. */
export const HPAGE_PMD_ORDER = 9;
/** HPAGE_PMD_NR */
export const HPAGE_PMD_NR = 1 << HPAGE_PMD_ORDER;
/** HPAGE_PMD_SIZE: 2 MiB */
export const HPAGE_PMD_SIZE = HPAGE_PMD_NR * 4096;
/**
 * What a THP is allocated with in a VM_HUGEPAGE VMA under the default defrag=madvise
 * (vma_thp_gfp_mask: GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM), zeroed.
 */
export const GFP_TRANSHUGE_ZEROED = GFP.TRANSHUGE_LIGHT | GFP.DIRECT_RECLAIM | GFP.ZERO;

/** The first address of the 2 MiB span holding `va` (addr & HPAGE_PMD_MASK). */
export function hugeAlign(va: number): number {
  return va - (va % HPAGE_PMD_SIZE);
}

/**
 * thp_vma_allowable_order(PMD_ORDER) in `madvise` mode for a fault at `addr`: an anonymous
 * private VMA with VM_HUGEPAGE and without VM_NOHUGEPAGE (MAP_STACK sets it), no PFN map, and the
 * aligned 2 MiB around `addr` inside the VMA (thp_vma_suitable_order).
 */
export function thpVmaSuitable(vma: Vma, addr: number): boolean {
  if (vma.file || hasAny(vma.vmFlags, VM_SHARED | VM_PFNMAP | VM_IO)) return false;
  if (!hasAny(vma.vmFlags, VM_HUGEPAGE) || hasAny(vma.vmFlags, VM_NOHUGEPAGE)) return false;
  const haddr = hugeAlign(addr);
  return haddr >= vma.start && haddr + HPAGE_PMD_SIZE <= vma.end;
}

/** The pages of a folio from its first pfn. */
export function folioPages(pfn: number): number[] {
  return Array.from({ length: HPAGE_PMD_NR }, (_, i) => pfn + i);
}

/**
 * The huge-PMD side of handle_mm_fault for a fault at `addr` in a VMA where THP is allowed:
 * create_huge_pmd when the PMD is empty (do_huge_pmd_anonymous_page), do_huge_pmd_wp_page on a
 * write to a read-only huge PMD. Null when the fault must go the 4 KiB way (a PTE table is there,
 * no 2 MiB folio to be had, or the huge PMD was split: VM_FAULT_FALLBACK).
 */
export async function doHugePmdFault(
  proc: MmProcess,
  vma: Vma,
  addr: number,
  write: boolean,
): Promise<FaultResult | null> {
  const haddr = hugeAlign(addr);
  const huge = proc.hugeAt(haddr);
  const executable = hasAny(vma.vmFlags, VM_EXEC);
  const { pages } = proc.ports;
  if (!huge) {
    if (proc.hasPteTable(haddr)) return null; // pmd_none fails: handle_pte_fault
    // do_huge_pmd_anonymous_page: vmf_anon_prepare comes first, for a read fault too
    anonVmaPrepare(proc.mm, vma);
    if (!write) {
      const zero = await pages.hugeZeroPage();
      if (zero === null) return null;
      await proc.mapHuge({ va: haddr, pfn: zero, writable: false, executable, dirty: false, special: true });
    } else {
      const pfn = await pages.allocHugePage();
      if (pfn === null) return null; // THP_FAULT_FALLBACK
      await mapNewFolio(proc, haddr, pfn, executable);
    }
    proc.minflt += 1;
    return 'ok';
  }
  const [e] = await proc.pagemap(addr, addr + 4096);
  if (!write || !e.present || e.writable) return 'ok'; // spurious: another CPU got there
  if (huge.special) {
    // do_huge_zero_wp_pmd (6.14+): a fresh THP in place of the huge zero folio, else split
    const pfn = await pages.allocHugePage();
    if (pfn === null) {
      await proc.splitHuge(haddr);
      return null;
    }
    anonVmaPrepare(proc.mm, vma);
    await mapNewFolio(proc, haddr, pfn, executable);
    proc.minflt += 1;
    return 'ok';
  }
  if (e.exclusive) {
    // reuse: the folio is mapped only here
    await proc.mapHuge({ va: haddr, pfn: huge.pfn, writable: true, executable, dirty: true, special: false });
    proc.minflt += 1;
    return 'ok';
  }
  // shared with another mm (fork): split, then do_wp_page copies the one 4 KiB page
  await proc.splitHuge(haddr);
  return null;
}

/** map_anon_folio_pmd: a new exclusive folio, writable and dirty; its pages gain their mapping. */
async function mapNewFolio(proc: MmProcess, haddr: number, pfn: number, executable: boolean): Promise<void> {
  await proc.ports.pages.addMapcounts(folioPages(pfn), 1);
  await proc.mapHuge({ va: haddr, pfn, writable: true, executable, dirty: true, special: false });
}

/**
 * Splits the huge PMDs that the ranges touch but do not wholly cover (or all they touch, with
 * `whole`): what zap_pmd_range, change_pmd_range, madvise and move_page_tables do before they
 * work on part of a huge PMD.
 */
export async function splitHugePmdsIn(
  proc: MmProcess,
  ranges: readonly VaRange[],
  whole = false,
): Promise<void> {
  for (const r of ranges) {
    for (const haddr of proc.hugeIn(r.start, r.end)) {
      if (whole || haddr < r.start || haddr + HPAGE_PMD_SIZE > r.end) await proc.splitHuge(haddr);
    }
  }
}

/**
 * vma_adjust_trans_huge: a huge PMD no longer inside one VMA (a VMA was split or shrunk at an
 * address that is not 2 MiB aligned) is split, unless a pending unmap or move covers it whole.
 */
export async function splitHugePmdsAcrossVmas(proc: MmProcess, pending: readonly VaRange[]): Promise<void> {
  for (const haddr of proc.hugeIn(0, Number.MAX_SAFE_INTEGER)) {
    const end = haddr + HPAGE_PMD_SIZE;
    const vma = proc.mm.vmas.lookup(haddr);
    if (vma && vma.start <= haddr && vma.end >= end) continue;
    if (pending.some((r) => r.start <= haddr && r.end >= end)) continue;
    await proc.splitHuge(haddr);
  }
}
