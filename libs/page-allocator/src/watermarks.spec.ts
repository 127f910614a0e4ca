import { bootMachine } from './page-allocator';
import { GFP } from './gfp';

const MiB = 2 ** 20;

describe('watermarks', () => {
  it('computes min_free_kbytes = int_sqrt(lowmem_kbytes * 16), clamped', () => {
    const pa = bootMachine();
    const lowmemKb = pa.managedPages * 4;
    expect(pa.minFreeKbytes).toBe(Math.floor(Math.sqrt(lowmemKb * 16)));
    expect(bootMachine({ memBytes: 16 * MiB }).minFreeKbytes).toBeGreaterThanOrEqual(128);
  });

  it('splits min by zone size and spaces low/high by max(min/4, 0.1% of the zone)', () => {
    const pa = bootMachine({ memBytes: 4 * 2 ** 30 });
    const dma32 = pa.zones[1];
    const pagesMin = pa.minFreeKbytes >> 2;
    const lowmem = pa.zones[0].managedPages + dma32.managedPages;
    const min = Math.floor((pagesMin * dma32.managedPages) / lowmem);
    const delta = Math.max(min >> 2, Math.floor((dma32.managedPages * 10) / 10000));
    expect(dma32.watermark).toEqual([min, min + delta, min + 2 * delta, min + 3 * delta]);
    // lowmem_reserve: DMA keeps back (DMA32 + Normal + Movable managed) / 256 from higher requests
    expect(pa.zones[0].lowmemReserve[1]).toBe(Math.floor(dma32.managedPages / 256));
  });

  it('honours a user min_free_kbytes', () => {
    const pa = bootMachine({ memBytes: 64 * MiB, minFreeKbytes: 4096 });
    expect(pa.minFreeKbytes).toBe(4096);
  });

  it('stops GFP_KERNEL at the min watermark, lets GFP_ATOMIC dig deeper and __GFP_MEMALLOC take everything', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const kernel = pa.allocPagesBulk(GFP.KERNEL | GFP.NOWARN, 0, 1e6);
    const free = pa.nrFreePages;
    const normal = pa.highestZoneIdx(GFP.KERNEL);
    const populated = pa.zones.filter((z) => z.populated);
    // each zone stops at min + lowmem_reserve[highest zone of the request] (+1: the check is "free > mark")
    const floor = populated.reduce((n, z) => n + z.min() + z.lowmemReserve[normal] + 1, 0);
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThanOrEqual(floor);
    expect(pa.allocPages(GFP.KERNEL, 0)).toBeNull();
    expect(pa.allocFailures.at(-1)?.message).toBe(
      'page allocation failure: order:0, mode:0xcc0(GFP_KERNEL), nodemask=(null)',
    );
    const nofail = pa.allocPagesBulk(GFP.KERNEL | GFP.NOFAIL | GFP.NOWARN, 0, 3);
    expect(nofail).toHaveLength(3); // __GFP_NOFAIL may use ALLOC_MIN_RESERVE
    const atomic = pa.allocPagesBulk(GFP.ATOMIC | GFP.NOWARN, 0, 1e6);
    expect(atomic.length).toBeGreaterThan(0);
    const memalloc = pa.allocPagesBulk(GFP.KERNEL | GFP.MEMALLOC | GFP.NOWARN, 0, 1e6);
    expect(pa.nrFreePages).toBe(0);
    for (const pfn of [...kernel, ...nofail, ...atomic, ...memalloc]) pa.freePages(pfn, 0);
    pa.checkInvariants();
  });

  it('falls back Normal → DMA32 → DMA, and GFP_DMA stays in DMA', () => {
    const pa = bootMachine({ memBytes: 64 * MiB });
    const first = pa.allocPages(GFP.KERNEL, 0);
    expect(pa.page(first as number).zone).toBe('DMA32');
    const dma = pa.allocPages(GFP.KERNEL | GFP.DMA, 0);
    expect(pa.page(dma as number).zone).toBe('DMA');
  });
});
