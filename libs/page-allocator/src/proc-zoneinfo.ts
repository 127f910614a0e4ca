import type { PageAllocator } from './page-allocator';
import { collectPageStats } from './page-stats';

/** pageblock_order on x86 (HPAGE_PMD_ORDER): 2 MiB blocks. */
const PAGEBLOCK_ORDER = 9;

/**
 * enum node_stat_item names (mm/vmstat.c vmstat_text, v6.15+) for the reference configuration:
 * CONFIG_SWAP, CONFIG_IOMMU_SUPPORT and CONFIG_HUGETLB_PAGE on; CONFIG_NUMA (so NUMA balancing)
 * and CONFIG_SHADOW_CALL_STACK off. Values the model does not track print 0.
 */
const NODE_STAT_ITEMS = [
  'nr_inactive_anon',
  'nr_active_anon',
  'nr_inactive_file',
  'nr_active_file',
  'nr_unevictable',
  'nr_slab_reclaimable',
  'nr_slab_unreclaimable',
  'nr_isolated_anon',
  'nr_isolated_file',
  'workingset_nodes',
  'workingset_refault_anon',
  'workingset_refault_file',
  'workingset_activate_anon',
  'workingset_activate_file',
  'workingset_restore_anon',
  'workingset_restore_file',
  'workingset_nodereclaim',
  'nr_anon_pages',
  'nr_mapped',
  'nr_file_pages',
  'nr_dirty',
  'nr_writeback',
  'nr_writeback_temp',
  'nr_shmem',
  'nr_shmem_hugepages',
  'nr_shmem_pmdmapped',
  'nr_file_hugepages',
  'nr_file_pmdmapped',
  'nr_anon_transparent_hugepages',
  'nr_vmscan_write',
  'nr_vmscan_immediate_reclaim',
  'nr_dirtied',
  'nr_written',
  'nr_throttled_written',
  'nr_kernel_misc_reclaimable',
  'nr_foll_pin_acquired',
  'nr_foll_pin_released',
  'nr_kernel_stack',
  'nr_page_table_pages',
  'nr_sec_page_table_pages',
  'nr_iommu_pages',
  'nr_swapcached',
  'pgdemote_kswapd',
  'pgdemote_direct',
  'pgdemote_khugepaged',
  'pgdemote_proactive',
  'nr_hugetlb',
  'nr_balloon_pages',
] as const;

/** enum zone_stat_item names (same source), without CONFIG_ZSMALLOC and CONFIG_UNACCEPTED_MEMORY. */
const ZONE_STAT_ITEMS = [
  'nr_free_pages',
  'nr_free_pages_blocks',
  'nr_zone_inactive_anon',
  'nr_zone_active_anon',
  'nr_zone_inactive_file',
  'nr_zone_active_file',
  'nr_zone_unevictable',
  'nr_zone_write_pending',
  'nr_mlock',
  'nr_bounce',
  'nr_free_cma',
] as const;

/**
 * /proc/zoneinfo (mm/vmstat.c zoneinfo_show_print, v6.15+): every configured zone, populated or
 * not; the per-node counters before the first populated zone; the zone counters after the
 * protection line (lowmem_reserve) of a populated zone. Pagesets are the kernel's boot pageset
 * (count 0, high 0, batch 1) because the model has no per-CPU page lists.
 */
export function procZoneinfo(pa: PageAllocator): string {
  const { perZone, total } = collectPageStats(pa);
  const firstPopulated = pa.zones.findIndex((z) => z.populated);
  const node: Partial<Record<(typeof NODE_STAT_ITEMS)[number], number>> = {
    nr_inactive_anon: total.inactiveAnon,
    nr_active_anon: total.activeAnon,
    nr_inactive_file: total.inactiveFile,
    nr_active_file: total.activeFile,
    nr_unevictable: total.unevictable,
    nr_slab_reclaimable: pa.slabReclaimablePages,
    nr_slab_unreclaimable: pa.slabUnreclaimablePages,
    nr_anon_pages: total.anonMapped,
    nr_mapped: total.fileMapped,
    nr_file_pages: total.filePages,
    nr_dirty: total.dirty,
    nr_writeback: total.writeback,
    nr_kernel_stack: pa.kernelStackKb,
    nr_page_table_pages: total.pageTables,
  };
  let out = '';
  const stat = (name: string, value: number): string => `\n      ${name.padEnd(12)} ${value}`;
  for (const z of pa.zones) {
    out += `Node 0, zone ${z.name.padStart(8)}`;
    if (z.index === firstPopulated) {
      out += '\n  per-node stats';
      for (const name of NODE_STAT_ITEMS) out += stat(name, node[name] ?? 0);
    }
    out += `\n  pages free     ${z.freePages}`;
    out += `\n        boost    0`;
    out += `\n        min      ${z.watermark[0]}`;
    out += `\n        low      ${z.watermark[1]}`;
    out += `\n        high     ${z.watermark[2]}`;
    out += `\n        promo    ${z.watermark[3]}`;
    out += `\n        spanned  ${z.spannedPages}`;
    out += `\n        present  ${z.presentPages}`;
    out += `\n        managed  ${z.managedPages}`;
    out += `\n        cma      0`;
    out += `\n        protection: (${z.lowmemReserve.join(', ')})`;
    if (!z.populated) {
      out += '\n';
      continue;
    }
    const s = perZone[z.index];
    const nrFree = pa.buddy.nrFreeOf(z.index);
    let freeBlocks = 0; // NR_FREE_PAGES_BLOCKS: free pages in blocks of at least pageblock_order
    for (let order = PAGEBLOCK_ORDER; order < nrFree.length; order++) freeBlocks += nrFree[order] << order;
    const zone: Partial<Record<(typeof ZONE_STAT_ITEMS)[number], number>> = {
      nr_free_pages: z.freePages,
      nr_free_pages_blocks: freeBlocks,
      nr_zone_inactive_anon: s.inactiveAnon,
      nr_zone_active_anon: s.activeAnon,
      nr_zone_inactive_file: s.inactiveFile,
      nr_zone_active_file: s.activeFile,
      nr_zone_unevictable: s.unevictable,
      nr_zone_write_pending: s.dirty + s.writeback,
      nr_mlock: s.mlocked,
    };
    for (const name of ZONE_STAT_ITEMS) out += stat(name, zone[name] ?? 0);
    out += '\n  pagesets';
    for (let cpu = 0; cpu < pa.profile.nrCpus; cpu++) {
      out += `\n    cpu: ${cpu}`;
      out += `\n              count:    0`;
      out += `\n              high:     0`;
      out += `\n              batch:    1`;
      out += `\n              high_min: 0`;
      out += `\n              high_max: 0`;
      out += `\n  vm stats threshold: 0`;
    }
    out += `\n  node_unreclaimable:  0`;
    out += `\n  start_pfn:           ${z.startPfn}`;
    out += '\n';
  }
  return out;
}
