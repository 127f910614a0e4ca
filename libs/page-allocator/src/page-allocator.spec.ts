import { bootMachine } from './page-allocator';
import { GFP } from './gfp';
import { FailedPreconditionError, InvalidArgumentError } from './errors';
import { PageFlag, PageType } from './page-flags';
import { must } from './testing';

const MiB = 2 ** 20;

describe('bootMachine', () => {
  it('defaults to x86_64 with 4 GiB and reserves the low 1 MiB, the kernel image and mem_map', () => {
    const pa = bootMachine();
    expect(pa.profile.arch).toBe('x86_64');
    expect(pa.profile.maxPfn).toBe(0x100000);
    expect(pa.profile.pageOffset).toBe(0x888000000000);
    expect(pa.testPageFlag(0, PageFlag.Reserved)).toBe(true);
    expect(pa.page(0).state).toBe('reserved');
    expect(pa.page(0x1000).state).toBe('reserved'); // kernel image at 16 MiB
    expect(pa.page(0x100).state).toBe('free');
    expect(pa.counters()).toMatchObject({
      totalPages: 0x100000,
      freePages: pa.managedPages,
      allocatedPages: 0,
    });
    pa.checkInvariants();
  });

  it('validates the config, naming the field and the value', () => {
    expect(() => bootMachine({ memBytes: 8 * MiB })).toThrow(InvalidArgumentError);
    expect(() => bootMachine({ memBytes: 8 * MiB })).toThrow(/memBytes=0x800000/);
    expect(() => bootMachine({ memBytes: 16 * MiB + 1 })).toThrow(/PAGE_SIZE/);
    expect(() => bootMachine({ arch: 'arm64' as never })).toThrow(/arch="arm64"/);
    expect(() => bootMachine({ memBytes: 65 * 2 ** 30 })).toThrow(/memBytes/);
  });
});

describe('alloc_pages / __free_pages', () => {
  it('returns the same PFNs for the same calls', () => {
    const run = (): number[] => {
      const pa = bootMachine({ memBytes: 32 * MiB });
      const out: number[] = [];
      for (const order of [0, 3, 0, 1, 5, 2]) out.push(must(pa.allocPages(GFP.KERNEL, order)));
      pa.freePages(out[1], 3);
      out.push(must(pa.allocPages(GFP.KERNEL, 2)));
      return out;
    };
    expect(run()).toEqual(run());
  });

  it('refuses bad requests without changing anything', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const before = pa.procBuddyinfo();
    const pfn = must(pa.allocPages(GFP.KERNEL, 2));
    const mid = pa.procBuddyinfo();
    expect(() => pa.allocPages(GFP.KERNEL, 11)).toThrow(InvalidArgumentError);
    expect(() => pa.freePages(pfn, 1)).toThrow(FailedPreconditionError);
    expect(() => pa.freePages(pfn, 1)).toThrow(/order=1.*allocated with order 2/);
    expect(() => pa.freePages(pfn + 1, 0)).toThrow(/tail page/);
    expect(() => pa.freePages(pa.totalPages, 0)).toThrow(InvalidArgumentError);
    expect(pa.procBuddyinfo()).toBe(mid);
    pa.freePages(pfn, 2);
    expect(() => pa.freePages(pfn, 2)).toThrow(/double free/);
    expect(pa.procBuddyinfo()).toBe(before);
    pa.checkInvariants();
  });

  it('frees a page when the last reference goes', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const pfn = must(pa.allocPages(GFP.KERNEL, 0));
    pa.getPage(pfn);
    expect(pa.pageCount(pfn)).toBe(2);
    pa.putPage(pfn);
    expect(pa.isFree(pfn)).toBe(false);
    pa.putPage(pfn);
    expect(pa.isFree(pfn)).toBe(true);
    expect(() => pa.putPage(pfn)).toThrow(/refcount underflow/);
    pa.checkInvariants();
  });

  it('builds compound pages with __GFP_COMP and refcounts them on the head', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const head = must(pa.allocPages(GFP.KERNEL | GFP.COMP, 2));
    expect(pa.testPageFlag(head, PageFlag.Head)).toBe(true);
    expect(pa.page(head + 3).headPfn).toBe(head);
    pa.getPage(head + 3);
    expect(pa.pageCount(head)).toBe(2);
    expect(pa.pageCount(head + 1)).toBe(2);
    pa.putPage(head + 1);
    pa.putPage(head);
    expect(pa.isFree(head)).toBe(true);
    pa.checkInvariants();
  });

  it('split_page turns an order-2 block into four order-0 pages', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const pfn = must(pa.allocPages(GFP.KERNEL, 2));
    pa.splitPage(pfn, 2);
    for (let i = 0; i < 4; i++) expect(pa.pageCount(pfn + i)).toBe(1);
    for (let i = 3; i >= 0; i--) pa.freePages(pfn + i, 0);
    pa.checkInvariants();
    expect(() => pa.splitPage(must(pa.allocPages(GFP.KERNEL | GFP.COMP, 1)), 1)).toThrow(/compound/);
  });

  it('keeps RAM contents across free and reallocation unless __GFP_ZERO', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const pfn = must(pa.allocPages(GFP.KERNEL, 0));
    pa.writePhys(pfn * 4096 + 10, Uint8Array.of(1, 2, 3));
    pa.freePages(pfn, 0);
    expect(pa.allocPages(GFP.KERNEL, 0)).toBe(pfn);
    expect(Array.from(pa.readPhys(pfn * 4096 + 10, 3))).toEqual([1, 2, 3]);
    pa.freePages(pfn, 0);
    expect(pa.allocPages(GFP.KERNEL | GFP.ZERO, 0)).toBe(pfn);
    expect(Array.from(pa.readPhys(pfn * 4096 + 10, 3))).toEqual([0, 0, 0]);
    expect(() => pa.readPhys(32 * MiB - 1, 2)).toThrow(/beyond the end of RAM/);
  });

  it('refuses to free a page that is still PG_reserved or mapped', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const pfn = must(pa.allocPages(GFP.KERNEL, 0));
    pa.setPageReserved(pfn);
    expect(() => pa.freePages(pfn, 0)).toThrow(/PG_reserved/);
    pa.clearPageReserved(pfn);
    pa.pageMapcountInc(pfn);
    expect(pa.pageMapcount(pfn)).toBe(1);
    expect(() => pa.putPage(pfn)).toThrow(/still mapped/);
    pa.pageMapcountDec(pfn);
    expect(() => pa.pageMapcountDec(pfn)).toThrow(/underflow/);
    pa.putPage(pfn);
    pa.checkInvariants();
  });

  it('marks page-table pages with a page type', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const pfn = must(pa.allocPages(GFP.KERNEL | GFP.ZERO, 0));
    pa.setPageType(pfn, PageType.Table);
    expect(pa.page(pfn).pageType).toBe('table');
    expect(() => pa.pageMapcountInc(pfn)).toThrow(/cannot be mapped/);
    expect(() => pa.setPageType(pfn, PageType.Buddy)).toThrow(InvalidArgumentError);
    pa.clearPageType(pfn, PageType.Table);
    pa.freePages(pfn, 0);
  });
});

describe('address conversion', () => {
  it('computes __pa/__va/page_address as x86_64 does', () => {
    const pa = bootMachine();
    expect(pa.physToVirt(0x1000)).toBe(0x888000001000);
    expect(pa.virtToPhys(0x888012345678)).toBe(0x12345678);
    expect(pa.virtToPfn(0x888012345678)).toBe(0x12345);
    expect(pa.pageAddress(0x12345)).toBe(0x888012345000);
    expect(pa.virtToPhys(0xffff81000000)).toBe(0x1000000); // __START_KERNEL_map + 16 MiB
    expect(() => pa.virtToPhys(0x7fff0000)).toThrow(/direct-map/);
  });

  it('has no permanent mapping for highmem on x86', () => {
    const pa = bootMachine({ arch: 'x86', memBytes: 2 * 2 ** 30 });
    expect(pa.profile.pageOffset).toBe(0xc0000000);
    expect(pa.profile.maxLowPfn).toBe(0x38000);
    expect(pa.virtToPhys(0xc0100000)).toBe(0x100000);
    expect(pa.physToVirt(0x1000000)).toBe(0xc1000000);
    expect(pa.pageAddress(0x37fff)).toBe(0xc0000000 + 0x37fff000);
    expect(pa.pageAddress(0x38000)).toBeNull();
    const high = must(pa.allocPages(GFP.HIGHUSER, 0));
    expect(high).toBeGreaterThanOrEqual(0x38000);
    expect(must(pa.allocPages(GFP.KERNEL, 0))).toBeLessThan(0x38000);
  });
});

describe('changePageRefs (batch, all or nothing)', () => {
  it('applies a batch and reports which puts freed their page', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const a = must(pa.allocPages(GFP.KERNEL, 0));
    const b = must(pa.allocPages(GFP.KERNEL | GFP.COMP, 1));
    expect(pa.changePageRefs('get', [a, b + 1])).toEqual([false, false]);
    expect(pa.changePageRefs('put', [a, b, a, b + 1])).toEqual([false, false, true, true]);
    expect(pa.isFree(a) && pa.isFree(b)).toBe(true);
    pa.checkInvariants();
  });

  it('refuses the whole batch when any element would underflow, changing nothing', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const a = must(pa.allocPages(GFP.KERNEL, 0));
    const c = must(pa.allocPages(GFP.KERNEL, 0));
    const before = pa.procBuddyinfo();
    expect(() => pa.changePageRefs('put', [c, a, a])).toThrow(/refcount underflow/);
    expect(pa.pageCount(c)).toBe(1);
    expect(pa.procBuddyinfo()).toBe(before);
    pa.changePageRefs('mapcountInc', [a, a]);
    expect(() => pa.changePageRefs('mapcountDec', [a, a, a])).toThrow(/mapcount underflow/);
    expect(pa.pageMapcount(a)).toBe(2);
    expect(() => pa.changePageRefs('put', [a])).toThrow(/still mapped/);
    expect(() => pa.changePageRefs('bogus' as never, [a])).toThrow(InvalidArgumentError);
  });
});

describe('kernel corner cases', () => {
  it('__free_pages with another reference held frees all but the first page of a non-compound block', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const pfn = must(pa.allocPages(GFP.KERNEL, 2));
    pa.getPage(pfn);
    pa.freePages(pfn, 2);
    expect(pa.pageCount(pfn)).toBe(1);
    for (let i = 1; i < 4; i++) expect(pa.isFree(pfn + i)).toBe(true);
    pa.checkInvariants();
    pa.putPage(pfn);
    expect(pa.isFree(pfn)).toBe(true);
    pa.checkInvariants();
  });

  it('refuses get/put on free pages and on tails of non-compound blocks', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const pfn = must(pa.allocPages(GFP.KERNEL, 1));
    expect(() => pa.getPage(pfn + 1)).toThrow(/non-compound/);
    expect(() => pa.putPage(pfn)).toThrow(/non-compound order-1 block/);
    pa.freePages(pfn, 1);
    expect(() => pa.getPage(pfn)).toThrow(/page is free/);
    expect(() => pa.setPageFlag(pfn, PageFlag.Dirty)).toThrow(/page is free/);
    expect(() => pa.setPageFlag(pfn, PageFlag.Head)).toThrow(InvalidArgumentError);
  });

  it('free_reserved_page hands a boot page to the allocator and MemTotal grows', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const total = pa.managedPages;
    expect(() => pa.freePages(0x10, 0)).toThrow(/reserved at boot/);
    pa.clearPageReserved(0x10);
    pa.freeReservedPage(0x10);
    expect(pa.managedPages).toBe(total + 1);
    expect(pa.isFree(0x10)).toBe(true);
    expect(() => pa.freeReservedPage(0x10)).toThrow(/not a boot reservation/);
    pa.checkInvariants();
  });

  it('records page allocation failures unless __GFP_NOWARN', () => {
    const pa = bootMachine({ memBytes: 16 * MiB });
    expect(pa.allocPages(GFP.KERNEL | GFP.NOWARN, 10)).toBeNull();
    expect(pa.allocFailures).toHaveLength(0);
    expect(pa.allocPages(GFP.KERNEL | GFP.COMP, 10)).toBeNull();
    expect(pa.allocFailures[0].message).toBe(
      'page allocation failure: order:10, mode:0x40cc0(GFP_KERNEL|__GFP_COMP), nodemask=(null)',
    );
  });

  it('falls back from HighMem to Normal on x86 when highmem runs out', () => {
    const pa = bootMachine({ arch: 'x86', memBytes: 1024 * MiB });
    const high = pa.zones.find((z) => z.name === 'HighMem');
    const got = pa.allocPagesBulk(GFP.HIGHUSER | GFP.NOWARN, 0, (high?.managedPages ?? 0) + 10);
    expect(pa.page(got[0]).zone).toBe('HighMem');
    expect(pa.page(got[got.length - 1]).zone).toBe('Normal');
    expect(pa.pageAddress(got[0])).toBeNull();
  });

  it('x86 has zones DMA, Normal, HighMem and the empty Movable', () => {
    const pa = bootMachine({ arch: 'x86', memBytes: 1024 * MiB });
    expect(pa.zones.map((z) => z.name)).toEqual(['DMA', 'Normal', 'HighMem', 'Movable']);
    expect(pa.zeroPagePfn).toBe(pa.profile.zeroPagePfn);
    expect(pa.page(pa.zeroPagePfn).state).toBe('reserved');
  });
});

describe('batch flag operations', () => {
  it('sets PG_reserved on many pages or on none', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const pfns = pa.allocPagesBulk(GFP.KERNEL, 0, 4);
    const free = must(pa.allocPages(GFP.KERNEL, 0));
    pa.freePages(free, 0);
    expect(() => pa.setPageFlags([...pfns, free], PageFlag.Reserved)).toThrow(/page is free/);
    expect(pa.testPageFlags(pfns, PageFlag.Reserved)).toEqual([false, false, false, false]);
    pa.setPageFlags(pfns, PageFlag.Reserved);
    expect(pa.testPageFlags(pfns, PageFlag.Reserved)).toEqual([true, true, true, true]);
    pa.clearPageFlags(pfns, PageFlag.Reserved);
    expect(pa.virtToPfns(pfns.map((p) => must(pa.pageAddress(p))))).toEqual(pfns);
  });
});
