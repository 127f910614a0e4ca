import type { Kmalloc } from './kmalloc';

/**
 * /proc/slabinfo (mm/slab_common.c print_slabinfo_header / cache_show, SLUB's get_slabinfo):
 * caches newest first (slab_caches is a list with new caches added at the head). SLUB has no
 * tunables (0 0 0); active_objs excludes only the free objects on partial lists, as SLUB
 * counts it.
 */
export function procSlabinfo(km: Kmalloc): string {
  let out = 'slabinfo - version: 2.1\n';
  out += '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>';
  out += ' : tunables <limit> <batchcount> <sharedfactor>';
  out += ' : slabdata <active_slabs> <num_slabs> <sharedavail>\n';
  for (let i = km.caches.length - 1; i >= 0; i--) {
    const c = km.caches[i];
    const numObjs = c.totalObjects;
    const activeObjs = numObjs - c.freeInPartial();
    out += `${c.name.padEnd(17)} ${pad(activeObjs, 6)} ${pad(numObjs, 6)} ${pad(c.size, 6)} ${pad(c.objsPerSlab, 4)} ${pad(c.pagesPerSlab, 4)}`;
    out += ` : tunables ${pad(0, 4)} ${pad(0, 4)} ${pad(0, 4)}`;
    out += ` : slabdata ${pad(c.nrSlabs, 6)} ${pad(c.nrSlabs, 6)} ${pad(0, 6)}\n`;
  }
  return out;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width);
}
