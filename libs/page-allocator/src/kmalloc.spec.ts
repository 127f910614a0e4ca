import { bootMachine } from './page-allocator';
import { GFP } from './gfp';
import { FailedPreconditionError } from './errors';
import { ZERO_SIZE_PTR, kmallocIndex } from './kmalloc';
import { PageFlag, PageType } from './page-flags';
import { must } from './testing';

const MiB = 2 ** 20;

describe('kmalloc size classes', () => {
  it.each([
    [1, 8],
    [8, 8],
    [9, 16],
    [33, 64],
    [65, 96],
    [96, 96],
    [97, 128],
    [129, 192],
    [193, 256],
    [1025, 2048],
    [4097, 8192],
    [8192, 8192],
  ])('kmalloc(%i) comes from the %i-byte cache', (size, cacheSize) => {
    const pa = bootMachine({ memBytes: 64 * MiB });
    expect(pa.ksize(must(pa.kmalloc(size, GFP.KERNEL)))).toBe(cacheSize);
  });

  it('uses the kernel size_index table below 192 and fls above', () => {
    expect(kmallocIndex(96)).toBe(1);
    expect(kmallocIndex(192)).toBe(2);
    expect(kmallocIndex(200)).toBe(8);
    expect(kmallocIndex(8192)).toBe(13);
  });
});

describe('kmalloc / kfree', () => {
  it('returns lowmem direct-map addresses on PG_slab pages', () => {
    const pa = bootMachine({ memBytes: 64 * MiB });
    const a = must(pa.kmalloc(100, GFP.KERNEL));
    const b = must(pa.kmalloc(100, GFP.KERNEL));
    expect(b - a).toBe(128);
    const pfn = pa.virtToPfn(a);
    expect(pa.testPageFlag(pfn, PageFlag.Slab)).toBe(true);
    expect(pa.pageAddress(pfn)).toBe(a - (a % 4096));
    pa.kfree(b);
    expect(must(pa.kmalloc(120, GFP.KERNEL))).toBe(b); // LIFO freelist
    pa.checkInvariants();
  });

  it('sends requests above 8 KiB to the page allocator at get_order(size)', () => {
    const pa = bootMachine({ memBytes: 64 * MiB });
    const addr = must(pa.kmalloc(73728, GFP.KERNEL));
    const pfn = pa.virtToPfn(addr);
    expect(pa.ksize(addr)).toBe(4096 << 5);
    expect(pa.page(pfn)).toMatchObject({ order: 5, compoundHead: true, pageType: 'large_kmalloc' });
    expect(pa.procMeminfo()).toMatch(/^SUnreclaim:\s+128 kB$/m);
    pa.kfree(addr);
    expect(pa.isFree(pfn)).toBe(true);
    expect(pa.kmalloc(4 * MiB + 1, GFP.KERNEL)).toBeNull();
    pa.checkInvariants();
  });

  it('refuses get_page/put_page on kmalloc memory (a WARN and no-op in Linux)', () => {
    const pa = bootMachine({ memBytes: 64 * MiB });
    const small = pa.virtToPfn(must(pa.kmalloc(64, GFP.KERNEL)));
    const large = pa.virtToPfn(must(pa.kmalloc(3 * 4096, GFP.KERNEL)));
    expect(() => pa.getPage(small)).toThrow(/belongs to kmalloc/);
    expect(() => pa.putPage(large + 1)).toThrow(/belongs to kmalloc/);
    expect(() => pa.freePages(large, 2)).toThrow(/use kfree/);
  });

  it('returns ZERO_SIZE_PTR for size 0 and ignores kfree of NULL and ZERO_SIZE_PTR', () => {
    const pa = bootMachine({ memBytes: 16 * MiB });
    expect(pa.kmalloc(0, GFP.KERNEL)).toBe(ZERO_SIZE_PTR);
    expect(ZERO_SIZE_PTR).toBe(16);
    pa.kfree(0);
    pa.kfree(ZERO_SIZE_PTR);
  });

  it('refuses a kfree of anything but a live allocation, changing nothing', () => {
    const pa = bootMachine({ memBytes: 64 * MiB });
    const a = must(pa.kmalloc(64, GFP.KERNEL));
    const slabinfo = pa.procSlabinfo();
    expect(() => pa.kfree(a + 8)).toThrow(FailedPreconditionError);
    expect(() => pa.kfree(a + 8)).toThrow(
      /addr=0x[0-9a-f]+: kfree: not a live kmalloc allocation \(points 8 bytes into a kmalloc-64 object\)/,
    );
    expect(() => pa.kfree(a + 64)).toThrow(/object is free/);
    expect(() => pa.kfree(0x1234)).toThrow(/not a direct-map address/);
    const page = must(pa.allocPages(GFP.KERNEL, 0));
    expect(() => pa.kfree(must(pa.pageAddress(page)))).toThrow(/not a live kmalloc allocation/);
    expect(pa.procSlabinfo()).toBe(slabinfo);
    pa.kfree(a);
    expect(() => pa.kfree(a)).toThrow(FailedPreconditionError);
    expect(() => pa.ksize(a)).toThrow(/ksize/);
  });

  it('zeroes objects with __GFP_ZERO but not otherwise', () => {
    const pa = bootMachine({ memBytes: 64 * MiB });
    const a = must(pa.kmalloc(32, GFP.KERNEL));
    pa.writePhys(pa.virtToPhys(a), new Uint8Array(32).fill(0xaa));
    pa.kfree(must(pa.kmalloc(32, GFP.KERNEL))); // keep the slab alive with one other object
    const keep = must(pa.kmalloc(32, GFP.KERNEL));
    pa.kfree(a);
    const again = must(pa.kmalloc(32, GFP.KERNEL));
    expect(again).toBe(a);
    expect(pa.readPhys(pa.virtToPhys(again), 1)[0]).toBe(0xaa);
    pa.kfree(again);
    const zeroed = must(pa.kzalloc(32, GFP.KERNEL));
    expect(Array.from(pa.readPhys(pa.virtToPhys(zeroed), 32)).every((b) => b === 0)).toBe(true);
    pa.kfree(zeroed);
    pa.kfree(keep);
    pa.checkInvariants();
  });

  it('picks the cache type as kmalloc_type does: DMA, then reclaimable, then accounted', () => {
    const pa = bootMachine({ memBytes: 64 * MiB });
    const rcl = must(pa.kmalloc(100, GFP.KERNEL | GFP.RECLAIMABLE));
    const cg = must(pa.kmalloc(100, GFP.KERNEL_ACCOUNT));
    const dma = must(pa.kmalloc(100, GFP.KERNEL | GFP.DMA | GFP.RECLAIMABLE));
    const slabOf = (a: number): string | undefined => pa.slab.slabOf(pa.virtToPfn(a))?.cache.name;
    expect([slabOf(rcl), slabOf(cg), slabOf(dma)]).toEqual([
      'kmalloc-rcl-128',
      'kmalloc-cg-128',
      'dma-kmalloc-128',
    ]);
    expect(pa.procMeminfo()).toMatch(/^SReclaimable:\s+4 kB$/m);
    expect(pa.procMeminfo()).toMatch(/^SUnreclaim:\s+8 kB$/m);
    pa.kfree(rcl);
    expect(pa.procMeminfo()).toMatch(/^SReclaimable:\s+0 kB$/m);
    pa.checkInvariants();
  });

  it('serves GFP_DMA from dma-kmalloc caches in ZONE_DMA and never returns highmem', () => {
    const pa = bootMachine({ arch: 'x86', memBytes: 1024 * MiB });
    const d = must(pa.kmalloc(64, GFP.KERNEL | GFP.DMA));
    expect(pa.virtToPfn(d)).toBeLessThan(4096);
    const h = must(pa.kmalloc(64, GFP.HIGHUSER));
    expect(pa.virtToPfn(h)).toBeLessThan(pa.profile.maxLowPfn);
    expect(pa.slab.warnings.length).toBe(1);
    expect(pa.procSlabinfo()).toMatch(
      /^dma-kmalloc-64 {8}64 {5}64 {5}64 {3}64 {4}1 : tunables {4}0 {4}0 {4}0 : slabdata {6}1 {6}1 {6}0$/m,
    );
  });

  it('falls back to a minimum-order slab when the cache order is not available (allocate_slab)', () => {
    const pa = bootMachine({ memBytes: 16 * MiB });
    const all = pa.allocPagesBulk(GFP.KERNEL | GFP.MEMALLOC | GFP.NOWARN, 0, 1e6);
    for (let i = 0; i < all.length; i += 2) pa.freePages(all[i], 0); // only isolated order-0 blocks left
    const addr = must(pa.kmalloc(1000, GFP.KERNEL));
    const pfn = pa.virtToPfn(addr);
    expect(pa.page(pfn)).toMatchObject({ order: 0, compoundHead: false, flags: ['slab'] });
    expect(pa.slab.slabOf(pfn)?.objects).toBe(4); // 4 KiB / 1 KiB instead of the cache's 16
    pa.kfree(addr);
    pa.checkInvariants();
  });

  it('refuses to free a slab whose page is still PG_reserved (the kmmap lab order matters)', () => {
    const pa = bootMachine({ memBytes: 64 * MiB });
    const addr = must(pa.kmalloc(4 * 4096, GFP.KERNEL));
    const pfn = pa.virtToPfn(addr);
    for (let i = 0; i < 4; i++) pa.setPageReserved(pfn + i);
    expect(() => pa.kfree(addr)).toThrow(/PG_reserved/);
    for (let i = 0; i < 4; i++) pa.clearPageReserved(pfn + i);
    pa.kfree(addr);
    expect(pa.isFree(pfn)).toBe(true);
    expect(PageType.LargeKmalloc).toBe(0xf8);
    pa.checkInvariants();
  });
});
