import { MAX_PAGE_ORDER, NR_PAGE_ORDERS } from './orders';
import { Zone } from './zone-type';

/** Watermark levels (enum zone_watermarks, include/linux/mmzone.h). */
export enum Wmark {
  Min = 0,
  Low = 1,
  High = 2,
  Promo = 3,
}

/**
 * struct zone: span, counters, watermarks and lowmem_reserve. The free lists themselves
 * (free_area[order]) live in the BuddyAllocator's flat typed arrays, indexed by zone index.
 */
export class ZoneState {
  /** present_pages: RAM pages in the span (no holes in this model, so = spanned). */
  presentPages: number;
  /** managed_pages: pages handed to the buddy allocator at boot (present minus reserved). */
  managedPages = 0;
  /** NR_FREE_PAGES */
  freePages = 0;
  readonly watermark = [0, 0, 0, 0];
  /** lowmem_reserve[j]: pages kept back from an allocation whose highest zone index is j. */
  lowmemReserve: number[];

  constructor(
    readonly index: number,
    readonly zone: Zone,
    readonly name: string,
    readonly startPfn: number,
    readonly endPfn: number,
    nrZones: number,
  ) {
    this.presentPages = endPfn - startPfn;
    this.lowmemReserve = new Array<number>(nrZones).fill(0);
  }

  get spannedPages(): number {
    return this.endPfn - this.startPfn;
  }

  /** populated_zone() */
  get populated(): boolean {
    return this.presentPages > 0;
  }

  get isHighmem(): boolean {
    return this.zone === Zone.HighMem;
  }

  min(): number {
    return this.watermark[Wmark.Min];
  }
  low(): number {
    return this.watermark[Wmark.Low];
  }
  high(): number {
    return this.watermark[Wmark.High];
  }
}

export { MAX_PAGE_ORDER, NR_PAGE_ORDERS };
