import type { PageAllocator } from './page-allocator';
import { collectPageStats } from './page-stats';
import { NODE_STAT_ITEMS, ZONE_STAT_ITEMS, nodeStatValues, zoneStatValues } from './vmstat-items';

/**
 * /proc/zoneinfo (mm/vmstat.c zoneinfo_show_print, v6.15+): every configured zone, populated or
 * not; the per-node counters before the first populated zone; the zone counters after the
 * protection line (lowmem_reserve) of a populated zone. Pagesets are the kernel's boot pageset
 * (count 0, high 0, batch 1) because the model has no per-CPU page lists.
 */
export function procZoneinfo(pa: PageAllocator): string {
  const { perZone, total } = collectPageStats(pa);
  const firstPopulated = pa.zones.findIndex((z) => z.populated);
  const node = nodeStatValues(pa, total);
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
    const zone = zoneStatValues(pa, z.index, s);
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
