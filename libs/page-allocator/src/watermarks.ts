import { PAGE_SHIFT } from '@pagemesh/uapi';
import { GFP } from './gfp';
import { NR_PAGE_ORDERS } from './orders';
import { Wmark, ZoneState } from './zone';
import { LOWMEM_RESERVE_RATIO, Zone } from './zone-type';

/** watermark_scale_factor default 10 = 0.1% of a zone (mm/page_alloc.c). */
export const WATERMARK_SCALE_FACTOR = 10;
/** SWAP_CLUSTER_MAX (include/linux/swap.h): lower clamp of a highmem zone's min watermark. */
export const SWAP_CLUSTER_MAX = 32;

/**
 * alloc_flags bits that matter to the watermark check (mm/internal.h). ALLOC_WMARK_* select the
 * level; ALLOC_MIN_RESERVE is __GFP_HIGH's value; ALLOC_NON_BLOCK for callers that cannot reclaim.
 */
export const ALLOC_WMARK_MIN = Wmark.Min;
export const ALLOC_WMARK_LOW = Wmark.Low;
export const ALLOC_WMARK_HIGH = Wmark.High;
export const ALLOC_NO_WATERMARKS = 0x04;
export const ALLOC_WMARK_MASK = ALLOC_NO_WATERMARKS - 1;
export const ALLOC_OOM = 0x08;
export const ALLOC_NON_BLOCK = 0x10;
export const ALLOC_MIN_RESERVE = 0x20; // == __GFP_HIGH
export const ALLOC_HIGHATOMIC = 0x200;
export const ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM;

/**
 * calculate_min_free_kbytes(): int_sqrt(lowmem_kbytes * 16) clamped to [128, 262144], where
 * lowmem_kbytes is nr_free_buffer_pages() (managed pages of the zones up to Normal, high
 * watermarks still 0 at boot) in kB.
 */
export function calculateMinFreeKbytes(zones: readonly ZoneState[]): number {
  let lowmemPages = 0;
  for (const z of zones) {
    if (z.zone === Zone.DMA || z.zone === Zone.DMA32 || z.zone === Zone.Normal) {
      lowmemPages += Math.max(0, z.managedPages - z.high());
    }
  }
  const lowmemKbytes = lowmemPages * (1 << (PAGE_SHIFT - 10));
  const computed = Math.floor(Math.sqrt(lowmemKbytes * 16));
  return Math.min(262144, Math.max(128, computed));
}

/** __setup_per_zone_wmarks() (mm/page_alloc.c). */
export function setupPerZoneWmarks(zones: readonly ZoneState[], minFreeKbytes: number): void {
  const pagesMin = minFreeKbytes >> (PAGE_SHIFT - 10);
  let lowmemPages = 0;
  for (const z of zones) {
    if (!z.isHighmem && z.zone !== Zone.Movable) lowmemPages += z.managedPages;
  }
  for (const z of zones) {
    let tmp = lowmemPages === 0 ? 0 : Math.floor((pagesMin * z.managedPages) / lowmemPages);
    if (z.isHighmem || z.zone === Zone.Movable) {
      // __GFP_HIGH and PF_MEMALLOC allocations usually don't need highmem: cap min to a small value.
      const minPages = Math.min(128, Math.max(SWAP_CLUSTER_MAX, Math.floor(z.managedPages / 1024)));
      z.watermark[Wmark.Min] = minPages;
    } else {
      z.watermark[Wmark.Min] = tmp;
    }
    tmp = Math.max(tmp >> 2, Math.floor((z.managedPages * WATERMARK_SCALE_FACTOR) / 10000));
    z.watermark[Wmark.Low] = z.watermark[Wmark.Min] + tmp;
    z.watermark[Wmark.High] = z.watermark[Wmark.Low] + tmp;
    z.watermark[Wmark.Promo] = z.watermark[Wmark.High] + tmp;
  }
}

/** setup_per_zone_lowmem_reserve() (mm/page_alloc.c). */
export function setupPerZoneLowmemReserve(zones: readonly ZoneState[]): void {
  for (let i = 0; i < zones.length; i++) {
    const zone = zones[i];
    zone.lowmemReserve.fill(0);
    if (i === zones.length - 1) continue;
    const ratio = LOWMEM_RESERVE_RATIO[zone.zone];
    const clear = ratio === 0 || zone.managedPages === 0;
    let managed = 0;
    for (let j = i + 1; j < zones.length; j++) {
      managed += zones[j].managedPages;
      zone.lowmemReserve[j] = clear ? 0 : Math.floor(managed / ratio);
    }
  }
}

/** calculate_totalreserve_pages(): what MemAvailable keeps back. */
export function totalReservePages(zones: readonly ZoneState[]): number {
  let total = 0;
  for (let i = 0; i < zones.length; i++) {
    const z = zones[i];
    let max = 0;
    for (let j = i; j < zones.length; j++) max = Math.max(max, z.lowmemReserve[j]);
    max += z.high();
    total += Math.min(max, z.managedPages);
  }
  return total;
}

/**
 * __zone_watermark_ok(): after setting aside the pages an order-N request cannot use
 * ((1 << order) - 1), free pages must stay above mark (reduced for reserves) plus
 * lowmem_reserve[highest zone]; for order > 0 a free block of at least that order must exist.
 */
export function zoneWatermarkOk(
  z: ZoneState,
  order: number,
  mark: number,
  highestZoneIdx: number,
  allocFlags: number,
  nrFree: Int32Array,
  nrFreeBase: number,
): boolean {
  let min = mark;
  const freePages = z.freePages - ((1 << order) - 1);
  if (allocFlags & ALLOC_RESERVES) {
    if (allocFlags & ALLOC_MIN_RESERVE) {
      min -= Math.floor(min / 2);
      if (allocFlags & ALLOC_NON_BLOCK) min -= Math.floor(min / 4);
    }
    if (allocFlags & ALLOC_OOM) min -= Math.floor(min / 2);
  }
  if (freePages <= min + z.lowmemReserve[highestZoneIdx]) return false;
  if (order === 0) return true;
  for (let o = order; o < NR_PAGE_ORDERS; o++) {
    if (nrFree[nrFreeBase + o] > 0) return true;
  }
  return false;
}

/** gfp_to_alloc_flags() for the slow path (mm/page_alloc.c): WMARK_MIN plus the reserve bits. */
export function gfpToAllocFlags(gfp: number): number {
  let flags = ALLOC_WMARK_MIN;
  flags |= gfp & GFP.HIGH; // __GFP_HIGH == ALLOC_MIN_RESERVE
  if (!(gfp & GFP.DIRECT_RECLAIM)) {
    if (!(gfp & GFP.NOMEMALLOC)) flags |= ALLOC_NON_BLOCK;
  }
  return flags;
}

/** __gfp_pfmemalloc_flags(): __GFP_MEMALLOC ignores watermarks unless __GFP_NOMEMALLOC. */
export function gfpPfmemallocFlags(gfp: number): number {
  if (gfp & GFP.NOMEMALLOC) return 0;
  if (gfp & GFP.MEMALLOC) return ALLOC_NO_WATERMARKS;
  return 0;
}
