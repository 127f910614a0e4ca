import type { PageAllocator } from './page-allocator';
import type { PageStats } from './page-stats';
import { Zone } from './zone-type';

/** pageblock_order on x86 (HPAGE_PMD_ORDER): 2 MiB blocks. */
const PAGEBLOCK_ORDER = 9;

/**
 * enum node_stat_item names (mm/vmstat.c vmstat_text, v6.15+) for the reference configuration:
 * CONFIG_SWAP, CONFIG_IOMMU_SUPPORT and CONFIG_HUGETLB_PAGE on; CONFIG_NUMA (so NUMA balancing)
 * and CONFIG_SHADOW_CALL_STACK off. Values the model does not track print 0.
 */
export const NODE_STAT_ITEMS = [
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
export const ZONE_STAT_ITEMS = [
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

export type NodeStatItem = (typeof NODE_STAT_ITEMS)[number];
export type ZoneStatItem = (typeof ZONE_STAT_ITEMS)[number];

/** The node counters the model knows (node_page_state); the others are 0. */
export function nodeStatValues(pa: PageAllocator, total: PageStats): Partial<Record<NodeStatItem, number>> {
  return {
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
}

/** The zone counters the model knows for one zone index (zone_page_state). */
export function zoneStatValues(
  pa: PageAllocator,
  zi: number,
  s: PageStats,
): Partial<Record<ZoneStatItem, number>> {
  const nrFree = pa.buddy.nrFreeOf(zi);
  let freeBlocks = 0; // NR_FREE_PAGES_BLOCKS: free pages in blocks of at least pageblock_order
  for (let order = PAGEBLOCK_ORDER; order < nrFree.length; order++) freeBlocks += nrFree[order] << order;
  return {
    nr_free_pages: pa.zones[zi].freePages,
    nr_free_pages_blocks: freeBlocks,
    nr_zone_inactive_anon: s.inactiveAnon,
    nr_zone_active_anon: s.activeAnon,
    nr_zone_inactive_file: s.inactiveFile,
    nr_zone_active_file: s.activeFile,
    nr_zone_unevictable: s.unevictable,
    nr_zone_write_pending: s.dirty + s.writeback,
    nr_mlock: s.mlocked,
  };
}

/** TEXTS_FOR_ZONES(): one name per configured zone (no ZONE_DEVICE). */
function perZone(prefix: string, zones: readonly Zone[]): string[] {
  const suffix: Record<Zone, string> = {
    [Zone.DMA]: 'dma',
    [Zone.DMA32]: 'dma32',
    [Zone.Normal]: 'normal',
    [Zone.HighMem]: 'high',
    [Zone.Movable]: 'movable',
  };
  return zones.map((z) => `${prefix}_${suffix[z]}`);
}

/**
 * enum vm_event_item names (mm/vmstat.c vmstat_text, v6.15+) for the reference configuration:
 * CONFIG_VM_EVENT_COUNTERS, MIGRATION, COMPACTION, HUGETLB_PAGE, TRANSPARENT_HUGEPAGE,
 * MEMORY_BALLOON with BALLOON_COMPACTION, SWAP, KSM on; NUMA, CMA, ZSWAP, DEBUG_TLBFLUSH,
 * PER_VMA_LOCK_STATS, DEBUG_STACK_USAGE off. thp_split_pud on x86_64 only.
 */
export function vmEventItems(arch: 'x86_64' | 'x86', zones: readonly Zone[]): string[] {
  return [
    'pgpgin',
    'pgpgout',
    'pswpin',
    'pswpout',
    ...perZone('pgalloc', zones),
    ...perZone('allocstall', zones),
    ...perZone('pgskip', zones),
    'pgfree',
    'pgactivate',
    'pgdeactivate',
    'pglazyfree',
    'pgfault',
    'pgmajfault',
    'pglazyfreed',
    'pgrefill',
    'pgreuse',
    'pgsteal_kswapd',
    'pgsteal_direct',
    'pgsteal_khugepaged',
    'pgsteal_proactive',
    'pgscan_kswapd',
    'pgscan_direct',
    'pgscan_khugepaged',
    'pgscan_proactive',
    'pgscan_direct_throttle',
    'pgscan_anon',
    'pgscan_file',
    'pgsteal_anon',
    'pgsteal_file',
    'pginodesteal',
    'slabs_scanned',
    'kswapd_inodesteal',
    'kswapd_low_wmark_hit_quickly',
    'kswapd_high_wmark_hit_quickly',
    'pageoutrun',
    'pgrotated',
    'drop_pagecache',
    'drop_slab',
    'oom_kill',
    'pgmigrate_success',
    'pgmigrate_fail',
    'thp_migration_success',
    'thp_migration_fail',
    'thp_migration_split',
    'compact_migrate_scanned',
    'compact_free_scanned',
    'compact_isolated',
    'compact_stall',
    'compact_fail',
    'compact_success',
    'compact_daemon_wake',
    'compact_daemon_migrate_scanned',
    'compact_daemon_free_scanned',
    'htlb_buddy_alloc_success',
    'htlb_buddy_alloc_fail',
    'unevictable_pgs_culled',
    'unevictable_pgs_scanned',
    'unevictable_pgs_rescued',
    'unevictable_pgs_mlocked',
    'unevictable_pgs_munlocked',
    'unevictable_pgs_cleared',
    'unevictable_pgs_stranded',
    'thp_fault_alloc',
    'thp_fault_fallback',
    'thp_fault_fallback_charge',
    'thp_collapse_alloc',
    'thp_collapse_alloc_failed',
    'thp_file_alloc',
    'thp_file_fallback',
    'thp_file_fallback_charge',
    'thp_file_mapped',
    'thp_split_page',
    'thp_split_page_failed',
    'thp_deferred_split_page',
    'thp_underused_split_page',
    'thp_split_pmd',
    'thp_scan_exceed_none_pte',
    'thp_scan_exceed_swap_pte',
    'thp_scan_exceed_share_pte',
    ...(arch === 'x86_64' ? ['thp_split_pud'] : []),
    'thp_zero_page_alloc',
    'thp_zero_page_alloc_failed',
    'thp_swpout',
    'thp_swpout_fallback',
    'balloon_inflate',
    'balloon_deflate',
    'balloon_migrate',
    'swap_ra',
    'swap_ra_hit',
    'swpin_zero',
    'swpout_zero',
    'ksm_swpin_copy',
    'cow_ksm',
    'direct_map_level2_splits',
    'direct_map_level3_splits',
    'direct_map_level2_collapses',
    'direct_map_level3_collapses',
  ];
}

/** Event names the layers above may count (everything but the per-zone ones this layer counts). */
export const VM_EVENT_NAMES: ReadonlySet<string> = new Set(
  vmEventItems('x86_64', [Zone.DMA, Zone.DMA32, Zone.Normal, Zone.HighMem, Zone.Movable]).filter(
    (n) => !n.startsWith('pgalloc_') && n !== 'pgfree',
  ),
);
