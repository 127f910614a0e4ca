import { BuddyAllocator } from './buddy-allocator';
import { MemMap, NIL } from './struct-page';
import { ZoneState } from './zone';
import { Zone } from './zone-type';

function tinyZone(pages = 64): { buddy: BuddyAllocator; mem: MemMap; zone: ZoneState } {
  const mem = new MemMap(pages);
  mem.setZoneRange(0, pages, Zone.Normal);
  const zone = new ZoneState(0, Zone.Normal, 'Normal', 0, pages, 1);
  return { buddy: new BuddyAllocator(mem, [zone]), mem, zone };
}

function lists(buddy: BuddyAllocator): Record<number, number[]> {
  const out: Record<number, number[]> = {};
  for (let order = 0; order <= 10; order++) {
    const pfns: number[] = [];
    for (let p = buddy.head[order]; p !== NIL; p = buddy.mem.mapcountOrNext[p]) pfns.push(p);
    if (pfns.length) out[order] = pfns;
  }
  return out;
}

describe('BuddyAllocator', () => {
  it('__rmqueue_smallest + expand: splitting an order-3 block at 8 for order 0 (semantics §5.3)', () => {
    const { buddy, zone } = tinyZone();
    buddy.addToFreeList(0, 8, 3, false);
    expect(buddy.rmqueueSmallest(0, 0)).toBe(8);
    expect(lists(buddy)).toEqual({ 0: [9], 1: [10], 2: [12] });
    expect(zone.freePages).toBe(7);
  });

  it('__free_one_page: freeing 12 merges with 13, 14 and 8 into one order-3 block (semantics §5.4)', () => {
    const { buddy, mem } = tinyZone();
    buddy.addToFreeList(0, 13, 0, false);
    buddy.addToFreeList(0, 14, 1, false);
    buddy.addToFreeList(0, 8, 2, false);
    buddy.freeOneBlock(0, 12, 0, false);
    expect(lists(buddy)).toEqual({ 3: [8] });
    expect(mem.isBuddy(8)).toBe(true);
    expect(mem.order(8)).toBe(3);
    expect(mem.isBuddy(12) || mem.isBuddy(13) || mem.isBuddy(14)).toBe(false);
  });

  it('does not merge across a zone boundary', () => {
    const mem = new MemMap(32);
    mem.setZoneRange(0, 16, Zone.DMA);
    mem.setZoneRange(16, 32, Zone.DMA32);
    const zones = [
      new ZoneState(0, Zone.DMA, 'DMA', 0, 16, 2),
      new ZoneState(1, Zone.DMA32, 'DMA32', 16, 32, 2),
    ];
    const buddy = new BuddyAllocator(mem, zones);
    buddy.freeOneBlock(1, 16, 4, true);
    buddy.freeOneBlock(0, 0, 4, true);
    expect(buddy.nrFreeOf(0)[4]).toBe(1);
    expect(buddy.nrFreeOf(1)[4]).toBe(1);
  });

  it('puts a freed block at the tail when its parent buddy is free (buddy_merge_likely), else at the head', () => {
    const { buddy } = tinyZone();
    buddy.addToFreeList(0, 2, 1, false); // the buddy of [0,2) at order 1
    buddy.addToFreeList(0, 5, 0, false);
    buddy.freeOneBlock(0, 7, 0, false); // head: 6's parent [4,6) is not free at order 1
    expect(lists(buddy)[0]).toEqual([7, 5]);
    buddy.freeOneBlock(0, 0, 0, false); // buddy 1 not free; parent [0,2)'s buddy [2,4) is free at order 1 → tail
    expect(lists(buddy)[0]).toEqual([7, 5, 0]);
  });

  it('unlinks from the middle of a list in O(1)', () => {
    const { buddy } = tinyZone();
    for (const pfn of [0, 2, 4, 6]) buddy.addToFreeList(0, pfn, 0, true);
    buddy.delFromFreeList(0, 4, 0);
    expect(lists(buddy)[0]).toEqual([0, 2, 6]);
    buddy.delFromFreeList(0, 6, 0);
    buddy.delFromFreeList(0, 0, 0);
    expect(lists(buddy)[0]).toEqual([2]);
    expect(buddy.tail[0]).toBe(2);
  });
});

describe('MemMap', () => {
  it('spends 16 bytes per page', () => {
    const mem = new MemMap(1024);
    const bytes =
      mem.flags.byteLength +
      mem.refcount.byteLength +
      mem.mapcountOrNext.byteLength +
      mem.privOrPrev.byteLength;
    expect(bytes / 1024).toBe(MemMap.BYTES_PER_PAGE);
    expect(MemMap.BYTES_PER_PAGE).toBeLessThanOrEqual(16);
  });
});
