import { PAGE_SHIFT } from '@pagemesh/uapi';
import type { PageAllocator } from './page-allocator';
import { collectPageStats } from './page-stats';

/** sysctl_overcommit_ratio default 50 (mm/util.c). */
const OVERCOMMIT_RATIO = 50;
const KB_PER_PAGE = 1 << (PAGE_SHIFT - 10);

/** show_val_kb(): the label (16 columns incl. the colon), the value in kB right-aligned in 8, " kB". */
function kb(label: string, pages: number): string {
  return valKb(label, pages * KB_PER_PAGE);
}

function valKb(label: string, kbytes: number): string {
  return `${`${label}:`.padEnd(16)}${String(kbytes).padStart(8)} kB\n`;
}

/**
 * si_mem_available() (mm/show_mem.c): free pages minus totalreserve_pages, plus the page cache
 * and reclaimable slab each less min(half, the zones' low watermarks).
 */
export function memAvailablePages(pa: PageAllocator, pagecache: number, reclaimable: number): number {
  let wmarkLow = 0;
  for (const z of pa.zones) wmarkLow += z.low();
  let available = pa.nrFreePages - pa.totalReservePages;
  available += pagecache - Math.min(Math.floor(pagecache / 2), wmarkLow);
  available += reclaimable - Math.min(Math.floor(reclaimable / 2), wmarkLow);
  return Math.max(0, available);
}

/**
 * /proc/meminfo as fs/proc/meminfo.c prints it (v6.x) for the reference configuration:
 * CONFIG_HIGHMEM on x86 only, CONFIG_MEMORY_FAILURE, CONFIG_TRANSPARENT_HUGEPAGE,
 * CONFIG_HUGETLB_PAGE, no ZSWAP, no CMA, no CONFIG_UNACCEPTED_MEMORY, no swap; v6.15+ (Balloon). Counters the model does not track
 * (Buffers, swap, Shmem, Percpu, ...) print 0.
 */
export function procMeminfo(pa: PageAllocator): string {
  const { total: st } = collectPageStats(pa);
  const p = pa.profile;
  const totalram = pa.managedPages;
  const freeram = pa.nrFreePages;
  const pagecache = st.activeFile + st.inactiveFile;
  const sreclaimable = pa.slabReclaimablePages;
  const sunreclaim = pa.slabUnreclaimablePages;
  let out = '';
  out += kb('MemTotal', totalram);
  out += kb('MemFree', freeram);
  out += kb('MemAvailable', memAvailablePages(pa, pagecache, sreclaimable));
  out += kb('Buffers', 0);
  out += kb('Cached', st.filePages);
  out += kb('SwapCached', 0);
  out += kb('Active', st.activeAnon + st.activeFile);
  out += kb('Inactive', st.inactiveAnon + st.inactiveFile);
  out += kb('Active(anon)', st.activeAnon);
  out += kb('Inactive(anon)', st.inactiveAnon);
  out += kb('Active(file)', st.activeFile);
  out += kb('Inactive(file)', st.inactiveFile);
  out += kb('Unevictable', st.unevictable);
  out += kb('Mlocked', st.mlocked);
  if (p.hasHighmem) {
    const high = pa.zones.filter((z) => z.isHighmem);
    const totalhigh = high.reduce((n, z) => n + z.managedPages, 0);
    const freehigh = high.reduce((n, z) => n + z.freePages, 0);
    out += kb('HighTotal', totalhigh);
    out += kb('HighFree', freehigh);
    out += kb('LowTotal', totalram - totalhigh);
    out += kb('LowFree', freeram - freehigh);
  }
  out += kb('SwapTotal', 0);
  out += kb('SwapFree', 0);
  out += kb('Dirty', st.dirty);
  out += kb('Writeback', st.writeback);
  out += kb('AnonPages', st.anonMapped);
  out += kb('Mapped', st.fileMapped);
  out += kb('Shmem', 0);
  out += kb('KReclaimable', sreclaimable);
  out += kb('Slab', sreclaimable + sunreclaim);
  out += kb('SReclaimable', sreclaimable);
  out += kb('SUnreclaim', sunreclaim);
  out += `KernelStack:    ${String(pa.kernelStackKb).padStart(8)} kB\n`;
  out += kb('PageTables', st.pageTables);
  out += kb('SecPageTables', 0);
  out += kb('NFS_Unstable', 0);
  out += kb('Bounce', 0);
  out += kb('WritebackTmp', 0);
  out += kb('CommitLimit', Math.floor((totalram * OVERCOMMIT_RATIO) / 100));
  out += kb('Committed_AS', pa.committedAsPages);
  out += `VmallocTotal:   ${String(p.vmallocTotalKb).padStart(8)} kB\n`;
  out += kb('VmallocUsed', pa.vmallocPages);
  out += kb('VmallocChunk', 0);
  out += kb('Percpu', 0);
  out += `HardwareCorrupted: ${String(0).padStart(5)} kB\n`;
  out += kb('AnonHugePages', 0);
  out += kb('ShmemHugePages', 0);
  out += kb('ShmemPmdMapped', 0);
  out += kb('FileHugePages', 0);
  out += kb('FilePmdMapped', 0);
  out += kb('Balloon', 0); // NR_BALLOON_PAGES, unconditional since v6.15
  // hugetlb_report_meminfo() (mm/hugetlb.c)
  const pae = p.arch === 'x86' && p.memBytes > 4 * 2 ** 30;
  const hugepageKb = p.arch === 'x86_64' || pae ? 2048 : 4096;
  out += `HugePages_Total:   ${String(0).padStart(5)}\n`;
  out += `HugePages_Free:    ${String(0).padStart(5)}\n`;
  out += `HugePages_Rsvd:    ${String(0).padStart(5)}\n`;
  out += `HugePages_Surp:    ${String(0).padStart(5)}\n`;
  out += valKb('Hugepagesize', hugepageKb);
  out += valKb('Hugetlb', 0);
  out += directMap(pa, hugepageKb);
  return out;
}

/**
 * arch_report_meminfo() (arch/x86/mm/pat/set_memory.c): how the direct map is built. Modelled
 * as init_mem_mapping() lays it out without later splits: 4k pages below the first large-page
 * boundary, 1G pages (x86_64 with gbpages) for whole aligned GiBs above 1 GiB, large pages for
 * the rest, 4k for a tail that is not large-page aligned.
 */
function directMap(pa: PageAllocator, largeKb: number): string {
  const p = pa.profile;
  const lowKb = p.lowmemLimit / 1024;
  const GiBKb = 1024 * 1024;
  let gigKb = 0;
  if (p.arch === 'x86_64' && lowKb >= 2 * GiBKb) gigKb = Math.floor(lowKb / GiBKb) * GiBKb - GiBKb;
  const rest = lowKb - gigKb - largeKb;
  const largePart = Math.max(0, Math.floor(rest / largeKb) * largeKb);
  const smallKb = lowKb - gigKb - largePart;
  let out = valKb('DirectMap4k', smallKb);
  out += valKb(largeKb === 4096 ? 'DirectMap4M' : 'DirectMap2M', largePart);
  if (p.arch === 'x86_64') out += valKb('DirectMap1G', gigKb);
  return out;
}
