import type { PageAllocator } from './page-allocator';
import { PageFlag, PageType } from './page-flags';

/**
 * The vmstat counters the model can derive from struct page (a scan: the kernel keeps them
 * incrementally, the numbers are the same). Per zone, indexed by zone index.
 */
export interface PageStats {
  activeAnon: number;
  inactiveAnon: number;
  activeFile: number;
  inactiveFile: number;
  unevictable: number;
  mlocked: number;
  /** NR_FILE_PAGES: page-cache pages */
  filePages: number;
  /** NR_ANON_MAPPED */
  anonMapped: number;
  /** NR_FILE_MAPPED */
  fileMapped: number;
  dirty: number;
  writeback: number;
  /** NR_PAGETABLE */
  pageTables: number;
}

function emptyStats(): PageStats {
  return {
    activeAnon: 0,
    inactiveAnon: 0,
    activeFile: 0,
    inactiveFile: 0,
    unevictable: 0,
    mlocked: 0,
    filePages: 0,
    anonMapped: 0,
    fileMapped: 0,
    dirty: 0,
    writeback: 0,
    pageTables: 0,
  };
}

const LRU = 1 << PageFlag.Lru;
const ACTIVE = 1 << PageFlag.Active;
const UNEVICTABLE = 1 << PageFlag.Unevictable;
const MLOCKED = 1 << PageFlag.Mlocked;
const DIRTY = 1 << PageFlag.Dirty;
const WRITEBACK = 1 << PageFlag.Writeback;
const INTERESTING = LRU | MLOCKED | DIRTY | WRITEBACK;

/** Scan mem_map once; returns per-zone stats and their sum. */
export function collectPageStats(pa: PageAllocator): { perZone: PageStats[]; total: PageStats } {
  const perZone = pa.zones.map(() => emptyStats());
  const mem = pa.mem;
  const flags = mem.flags;
  const mapc = mem.mapcountOrNext;
  const zoneIdx = new Int8Array(8);
  for (const z of pa.zones) zoneIdx[z.zone] = z.index;
  for (let pfn = 0; pfn < mem.nrPages; pfn++) {
    const f = flags[pfn];
    const mapping = mem.mapping(pfn);
    const type = mem.pageType(pfn);
    if ((f & INTERESTING) === 0 && mapping === 'none' && type !== PageType.Table) continue;
    const s = perZone[zoneIdx[mem.zone(pfn)]];
    if (type === PageType.Table) s.pageTables++;
    const anon = mapping === 'anon' || (f & (1 << PageFlag.SwapBacked)) !== 0;
    if (f & LRU) {
      if (f & UNEVICTABLE) s.unevictable++;
      else if (anon) {
        if (f & ACTIVE) s.activeAnon++;
        else s.inactiveAnon++;
      } else if (f & ACTIVE) s.activeFile++;
      else s.inactiveFile++;
    }
    if (f & MLOCKED) s.mlocked++;
    if (mapping === 'file') {
      s.filePages++;
      if (f & DIRTY) s.dirty++;
    }
    if (f & WRITEBACK) s.writeback++;
    if (type === null && !mem.isBuddy(pfn) && mapc[pfn] >= 0) {
      if (mapping === 'anon') s.anonMapped++;
      else if (mapping === 'file') s.fileMapped++;
    }
  }
  const total = emptyStats();
  for (const s of perZone) for (const k of Object.keys(total) as (keyof PageStats)[]) total[k] += s[k];
  return { perZone, total };
}
