import type { PageAllocator } from './page-allocator';

/**
 * /proc/buddyinfo (mm/vmstat.c frag_show_print): one line per populated zone,
 * "Node %d, zone %8s " then "%6lu " per order 0..MAX_PAGE_ORDER, then '\n'. Every line ends
 * with a space before the newline.
 */
export function procBuddyinfo(pa: PageAllocator): string {
  let out = '';
  for (const z of pa.zones) {
    if (!z.populated) continue;
    out += `Node 0, zone ${z.name.padStart(8)} `;
    for (const n of pa.buddy.nrFreeOf(z.index)) out += `${String(n).padStart(6)} `;
    out += '\n';
  }
  return out;
}
