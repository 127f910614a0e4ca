import type { MmStruct } from './mm-struct';
import type { Vma } from './vma';
import { formatMapsLine } from './proc-maps';
import { VM_HUGEPAGE, VM_LOCKED, VM_NOHUGEPAGE, hasAny, vmFlagsMnemonics } from './vm-flags';

/** Page-level figures of one VMA, in kB, as smaps_pte_entry adds them up. */
export interface SmapsPageStats {
  readonly rss: number;
  readonly pss: number;
  readonly pssDirty: number;
  readonly sharedClean: number;
  readonly sharedDirty: number;
  readonly privateClean: number;
  readonly privateDirty: number;
  readonly referenced: number;
  readonly anonymous: number;
  readonly lazyFree: number;
  readonly anonHugePages: number;
  readonly swap: number;
  readonly swapPss: number;
}

/** A VMA none of whose pages is mapped. */
export const NO_PAGES: SmapsPageStats = {
  rss: 0,
  pss: 0,
  pssDirty: 0,
  sharedClean: 0,
  sharedDirty: 0,
  privateClean: 0,
  privateDirty: 0,
  referenced: 0,
  anonymous: 0,
  lazyFree: 0,
  anonHugePages: 0,
  swap: 0,
  swapPss: 0,
};

/** Where the page figures come from: the mmu's page tables, once wired. */
export type SmapsPageSource = (vma: Vma) => SmapsPageStats;

/** One smaps entry as numbers (kB) with its VmFlags, the way the oracle reads them. */
export interface SmapsEntry {
  readonly vma: Vma;
  readonly size: number;
  readonly stats: SmapsPageStats;
  /** Pss of a VM_LOCKED VMA, else 0 */
  readonly locked: number;
  readonly vmFlags: string;
  readonly thpEligible: 0 | 1;
}

/** THPeligible with THP in `madvise` mode: a VM_HUGEPAGE VMA holding an aligned 2 MiB range. */
function thpEligible(vma: Vma): 0 | 1 {
  if (!hasAny(vma.vmFlags, VM_HUGEPAGE) || hasAny(vma.vmFlags, VM_NOHUGEPAGE)) return 0;
  const huge = 2 * 1024 * 1024;
  const first = Math.ceil(vma.start / huge) * huge;
  return first + huge <= vma.end ? 1 : 0;
}

export function smapsEntry(vma: Vma, pages: SmapsPageSource): SmapsEntry {
  const stats = pages(vma);
  return {
    vma,
    size: (vma.end - vma.start) / 1024,
    stats,
    locked: hasAny(vma.vmFlags, VM_LOCKED) ? stats.pss : 0,
    vmFlags: vmFlagsMnemonics(vma.vmFlags),
    thpEligible: thpEligible(vma),
  };
}

/** SEQ_PUT_DEC: the label padded to 16 columns, the value right-aligned in 8, then " kB". */
function kb(label: string, v: number): string {
  return (label + ':').padEnd(16) + String(v).padStart(8) + ' kB\n';
}

/** The /proc/PID/smaps block of one VMA (show_smap). */
export function formatSmaps(e: SmapsEntry): string {
  const s = e.stats;
  return (
    formatMapsLine(e.vma) +
    '\n' +
    kb('Size', e.size) +
    kb('KernelPageSize', 4) +
    kb('MMUPageSize', 4) +
    kb('Rss', s.rss) +
    kb('Pss', s.pss) +
    kb('Pss_Dirty', s.pssDirty) +
    kb('Shared_Clean', s.sharedClean) +
    kb('Shared_Dirty', s.sharedDirty) +
    kb('Private_Clean', s.privateClean) +
    kb('Private_Dirty', s.privateDirty) +
    kb('Referenced', s.referenced) +
    kb('Anonymous', s.anonymous) +
    kb('KSM', 0) +
    kb('LazyFree', s.lazyFree) +
    kb('AnonHugePages', s.anonHugePages) +
    kb('ShmemPmdMapped', 0) +
    kb('FilePmdMapped', 0) +
    kb('Shared_Hugetlb', 0) +
    kb('Private_Hugetlb', 0) +
    kb('Swap', s.swap) +
    kb('SwapPss', s.swapPss) +
    kb('Locked', e.locked) +
    'THPeligible:    ' +
    String(e.thpEligible).padStart(8) +
    '\n' +
    'VmFlags: ' +
    (e.vmFlags ? e.vmFlags + ' ' : '') +
    '\n'
  );
}

/** The whole /proc/PID/smaps text; page figures from `pages` (NO_PAGES when nothing is mapped). */
export function procSmaps(mm: MmStruct, pages: SmapsPageSource = () => NO_PAGES): string {
  let out = '';
  for (const v of mm.vmas.all()) out += formatSmaps(smapsEntry(v, pages));
  return out;
}

/** /proc/PID/status memory lines (task_mem), `Name:\t%8lu kB`. VmPTE is not tracked here (0). */
export function procStatusMemory(mm: MmStruct): string {
  const line = (name: string, pages: number) => `${name}:\t${String(pages * 4).padStart(8)} kB\n`;
  const rss = mm.rss.anon + mm.rss.file + mm.rss.shmem;
  return (
    line('VmPeak', mm.hiwaterVm) +
    line('VmSize', mm.totalVm) +
    line('VmLck', mm.lockedVm) +
    line('VmPin', 0) +
    line('VmHWM', rss) +
    line('VmRSS', rss) +
    line('RssAnon', mm.rss.anon) +
    line('RssFile', mm.rss.file) +
    line('RssShmem', mm.rss.shmem) +
    line('VmData', mm.dataVm) +
    line('VmStk', mm.stackVm) +
    line('VmExe', 0) +
    line('VmLib', mm.execVm) +
    line('VmPTE', 0) +
    line('VmSwap', 0) +
    line('HugetlbPages', 0)
  );
}
