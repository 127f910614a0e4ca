import type { PageAllocator } from './page-allocator';
import { PageFlag, PageType } from './page-flags';

/**
 * KPF_* bit numbers of /proc/kpageflags (include/uapi/linux/kernel-page-flags.h and the
 * kernel-hacking bits of fs/proc/internal.h / Documentation/admin-guide/mm/pagemap.rst).
 */
export const KPF = {
  LOCKED: 0,
  ERROR: 1,
  REFERENCED: 2,
  UPTODATE: 3,
  DIRTY: 4,
  LRU: 5,
  ACTIVE: 6,
  SLAB: 7,
  WRITEBACK: 8,
  RECLAIM: 9,
  BUDDY: 10,
  MMAP: 11,
  ANON: 12,
  SWAPCACHE: 13,
  SWAPBACKED: 14,
  COMPOUND_HEAD: 15,
  COMPOUND_TAIL: 16,
  HUGE: 17,
  UNEVICTABLE: 18,
  HWPOISON: 19,
  NOPAGE: 20,
  KSM: 21,
  THP: 22,
  OFFLINE: 23,
  ZERO_PAGE: 24,
  IDLE: 25,
  PGTABLE: 26,
  // kernel-hacking flags (above 32: exact as JS numbers, all below 2^53)
  RESERVED: 32,
  MLOCKED: 33,
  PRIVATE: 35,
} as const;

const NAMES: ReadonlyArray<[number, string]> = Object.entries(KPF).map(([name, bit]) => [
  bit,
  name.toLowerCase(),
]);

function bit(n: number): number {
  return 2 ** n;
}

/** stable_page_flags() (fs/proc/page.c) for one PFN, as a number (bits up to 35). */
export function kpageflagsOf(pa: PageAllocator, pfn: number): number {
  const mem = pa.mem;
  let u = 0;
  const set = (cond: boolean, kpf: number): void => {
    if (cond) u += bit(kpf);
  };
  const head = mem.blockHead(pfn);
  const compoundTail = mem.isCompoundTail(pfn);
  const mapped = !mem.isBuddy(pfn) && mem.pageType(pfn) === null && mem.mapcountOrNext[pfn] >= 0;
  set(mapped, KPF.MMAP);
  set(mem.mapping(pfn) === 'anon', KPF.ANON);
  set(mem.testFlag(pfn, PageFlag.Head), KPF.COMPOUND_HEAD);
  set(compoundTail, KPF.COMPOUND_TAIL);
  set(mem.isBuddy(pfn), KPF.BUDDY);
  set(mem.pageType(pfn) === PageType.Offline, KPF.OFFLINE);
  set(mem.pageType(pfn) === PageType.Table, KPF.PGTABLE);
  set(pfn === pa.profile.zeroPagePfn, KPF.ZERO_PAGE);
  // Folio-wide flags are read from the head, as the kernel reads them from the folio.
  const src = compoundTail ? head : pfn;
  set(mem.testFlag(src, PageFlag.Slab), KPF.SLAB);
  set(mem.testFlag(src, PageFlag.Locked), KPF.LOCKED);
  set(mem.testFlag(src, PageFlag.Referenced), KPF.REFERENCED);
  set(mem.testFlag(src, PageFlag.Uptodate), KPF.UPTODATE);
  set(mem.testFlag(src, PageFlag.Dirty), KPF.DIRTY);
  set(mem.testFlag(src, PageFlag.Lru), KPF.LRU);
  set(mem.testFlag(src, PageFlag.Active), KPF.ACTIVE);
  set(mem.testFlag(src, PageFlag.Writeback), KPF.WRITEBACK);
  set(mem.testFlag(src, PageFlag.SwapBacked), KPF.SWAPBACKED);
  set(mem.testFlag(src, PageFlag.Unevictable), KPF.UNEVICTABLE);
  set(mem.testFlag(pfn, PageFlag.Reserved), KPF.RESERVED);
  set(mem.testFlag(src, PageFlag.Mlocked), KPF.MLOCKED);
  set(mem.testFlag(src, PageFlag.Private), KPF.PRIVATE);
  return u;
}

/** Names of the KPF bits set in a kpageflags word, as tools/mm/page-types prints them. */
export function kpageflagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [b, name] of NAMES) if (Math.floor(flags / bit(b)) % 2 === 1) out.push(name);
  return out;
}

/**
 * A per-PFN dump in the spirit of `page-types -l`: "offset\tlen\tflags" with runs of equal flags
 * merged, offsets and lengths in hex, flags as comma-separated names (or "" when none).
 */
export function kpageflagsDump(pfn: number, words: readonly number[]): string {
  const count = words.length;
  let out = 'offset\tlen\tflags\n';
  let runStart = pfn;
  for (let i = 1; i <= count; i++) {
    if (i === count || words[i] !== words[i - 1]) {
      const len = pfn + i - runStart;
      out += `${runStart.toString(16)}\t${len.toString(16)}\t${kpageflagNames(words[runStart - pfn]).join(',')}\n`;
      runStart = pfn + i;
    }
  }
  return out;
}
