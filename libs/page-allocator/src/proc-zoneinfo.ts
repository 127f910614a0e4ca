import type { PageAllocator } from './page-allocator';
import { collectPageStats } from './page-stats';

/**
 * /proc/zoneinfo (mm/vmstat.c zoneinfo_show_print, v6.x): every configured zone, populated or
 * not. The per-node block (printed before the first populated zone) and the per-zone counter
 * block list only the counters the model tracks, in kernel order and spelling; the pagesets
 * show what this model has: no per-CPU page lists (count 0).
 */
export function procZoneinfo(pa: PageAllocator): string {
  const { perZone, total } = collectPageStats(pa);
  const firstPopulated = pa.zones.findIndex((z) => z.populated);
  let out = '';
  const stat = (name: string, value: number): string => `\n      ${name.padEnd(12)} ${value}`;
  for (const z of pa.zones) {
    out += `Node 0, zone ${z.name.padStart(8)}`;
    if (z.index === firstPopulated) {
      out += '\n  per-node stats';
      out += stat('nr_inactive_anon', total.inactiveAnon);
      out += stat('nr_active_anon', total.activeAnon);
      out += stat('nr_inactive_file', total.inactiveFile);
      out += stat('nr_active_file', total.activeFile);
      out += stat('nr_unevictable', total.unevictable);
      out += stat('nr_slab_reclaimable', pa.slabReclaimablePages);
      out += stat('nr_slab_unreclaimable', pa.slabUnreclaimablePages);
      out += stat('nr_anon_pages', total.anonMapped);
      out += stat('nr_mapped', total.fileMapped);
      out += stat('nr_file_pages', total.filePages);
      out += stat('nr_dirty', total.dirty);
      out += stat('nr_writeback', total.writeback);
      out += stat('nr_shmem', 0);
      out += stat('nr_kernel_stack', pa.kernelStackKb);
      out += stat('nr_page_table_pages', total.pageTables);
      out += stat('nr_sec_page_table_pages', 0);
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
    out += stat('nr_free_pages', z.freePages);
    out += stat('nr_zone_inactive_anon', s.inactiveAnon);
    out += stat('nr_zone_active_anon', s.activeAnon);
    out += stat('nr_zone_inactive_file', s.inactiveFile);
    out += stat('nr_zone_active_file', s.activeFile);
    out += stat('nr_zone_unevictable', s.unevictable);
    out += stat('nr_zone_write_pending', s.dirty + s.writeback);
    out += stat('nr_mlock', s.mlocked);
    out += stat('nr_free_cma', 0);
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
