import type { PageAllocator } from './page-allocator';
import { collectPageStats } from './page-stats';
import {
  NODE_STAT_ITEMS,
  ZONE_STAT_ITEMS,
  nodeStatValues,
  vmEventItems,
  zoneStatValues,
} from './vmstat-items';

export { VM_EVENT_NAMES } from './vmstat-items';

/** vm_dirty_ratio 20 and dirty_background_ratio 10 (mm/page-writeback.c defaults). */
const DIRTY_RATIO = 20;
const DIRTY_BACKGROUND_RATIO = 10;
const PAGE_SIZE = 4096;

/**
 * global_dirty_limits() (mm/page-writeback.c): dirtyable memory is free pages above the
 * reserves plus the file LRU, without highmem (vm_highmem_is_dirtyable 0); the limits are
 * ratio * PAGE_SIZE / 100 applied as the kernel does in integer arithmetic.
 */
function dirtyLimits(pa: PageAllocator, fileLru: number): [thresh: number, bg: number] {
  let free = pa.nrFreePages;
  free -= Math.min(free, pa.totalReservePages);
  let x = free + fileLru;
  for (const z of pa.zones) {
    if (!z.isHighmem) continue;
    const highFree = z.freePages - Math.min(z.freePages, z.high());
    x -= Math.min(x, highFree);
  }
  const ratio = Math.floor((DIRTY_RATIO * PAGE_SIZE) / 100);
  const bgRatio = Math.floor((DIRTY_BACKGROUND_RATIO * PAGE_SIZE) / 100);
  const thresh = Math.floor((ratio * x) / PAGE_SIZE);
  let bg = Math.floor((bgRatio * x) / PAGE_SIZE);
  if (bg >= thresh) bg = Math.floor(thresh / 2);
  return [thresh, bg];
}

/**
 * /proc/vmstat (mm/vmstat.c vmstat_show, v6.15+): "name value" lines for the zone counters,
 * the node counters, the four system-wide counters and the vm events of the reference
 * configuration, then the deprecated "nr_unstable 0". pgalloc_* and pgfree are counted here;
 * other events come from countVmEvent(); everything else the model does not track is 0.
 */
export function procVmstat(pa: PageAllocator): string {
  const { perZone, total } = collectPageStats(pa);
  let out = '';
  const line = (name: string, value: number): void => {
    out += `${name} ${value}\n`;
  };
  const zoneTotals = new Map<string, number>();
  pa.zones.forEach((z, zi) => {
    const values = zoneStatValues(pa, zi, perZone[zi]);
    for (const name of ZONE_STAT_ITEMS)
      zoneTotals.set(name, (zoneTotals.get(name) ?? 0) + (values[name] ?? 0));
  });
  for (const name of ZONE_STAT_ITEMS) line(name, zoneTotals.get(name) ?? 0);
  const node = nodeStatValues(pa, total);
  for (const name of NODE_STAT_ITEMS) line(name, node[name] ?? 0);
  const [thresh, bg] = dirtyLimits(pa, total.activeFile + total.inactiveFile);
  line('nr_dirty_threshold', thresh);
  line('nr_dirty_background_threshold', bg);
  line('nr_memmap_pages', 0);
  const memmap = pa.profile.reservations.find((r) => r.name === 'mem_map');
  line('nr_memmap_boot_pages', memmap ? memmap.endPfn - memmap.startPfn : 0);
  const zones = pa.zones.map((z) => z.zone);
  for (const name of vmEventItems(pa.profile.arch, zones)) {
    if (name.startsWith('pgalloc_')) {
      const zi = zoneIndexOfSuffix(pa, name.slice('pgalloc_'.length));
      line(name, zi >= 0 ? pa.pgalloc[zi] : 0);
    } else if (name === 'pgfree') {
      line(name, pa.pgfree);
    } else {
      line(name, pa.vmEvents.get(name) ?? 0);
    }
  }
  line('nr_unstable', 0);
  return out;
}

function zoneIndexOfSuffix(pa: PageAllocator, suffix: string): number {
  const names: Record<string, string> = {
    dma: 'DMA',
    dma32: 'DMA32',
    normal: 'Normal',
    high: 'HighMem',
    movable: 'Movable',
  };
  return pa.zones.findIndex((z) => z.name === names[suffix]);
}
