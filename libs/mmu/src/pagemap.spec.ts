import { bootMachine, GFP } from '@pagemesh/page-allocator';

import { accessCode } from './access';
import { inprocPageAllocatorPort } from './inproc-page-allocator-port';
import { Mmu } from './mmu';
import { PROT_X86_64, _PAGE_SOFT_DIRTY, pgprot } from './paging/pte-bits';

const VA = 0x555555554000;

describe('pagemap', () => {
  it('reports present, PFN, exclusive, soft-dirty and PROT_NONE entries like /proc/PID/pagemap', async () => {
    const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
    const mmu = await Mmu.boot(inprocPageAllocatorPort(pa));
    const asid = await mmu.createAddressSpace();
    const [a, b, c] = pa.allocPagesBulk(GFP.HIGHUSER, 0, 3);
    pa.pageMapcountInc(a); // mapped once: exclusive
    pa.pageMapcountInc(b);
    pa.pageMapcountInc(b); // mapped twice (e.g. shared with a fork child)
    await mmu.mapPages(asid, VA, [a], pgprot(PROT_X86_64.PAGE_COPY.lo | _PAGE_SOFT_DIRTY, true));
    await mmu.mapPages(asid, VA + 4096, [b], PROT_X86_64.PAGE_READONLY);
    await mmu.mapPages(asid, VA + 3 * 4096, [c], PROT_X86_64.PAGE_NONE);
    const pm = await mmu.pagemap(asid, VA, 4);
    expect(pm.map((e) => [e.present, e.pfn, e.exclusive, e.softDirty])).toEqual([
      [true, a, true, true],
      [true, b, false, false],
      [false, null, false, false],
      [true, c, false, false],
    ]);
    // bit 63 present, 56 exclusive, 55 soft-dirty, PFN in bits 0..54
    expect(pm[0].hi).toBe((0x80000000 | (1 << 24) | (1 << 23)) >>> 0);
    expect(pm[0].lo).toBe(a);
    expect(pm[2]).toMatchObject({ hi: 0, lo: 0 });
  });

  it('sets and clears the special bit of present entries', async () => {
    const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
    const mmu = await Mmu.boot(inprocPageAllocatorPort(pa));
    const asid = await mmu.createAddressSpace();
    await mmu.mapPages(asid, VA, { first: 1000, count: 2 }, PROT_X86_64.PAGE_SHARED);
    expect(await mmu.markSpecial(asid, VA, 3, true)).toBe(2);
    expect((await mmu.pagemap(asid, VA, 1))[0].special).toBe(true);
    expect(await mmu.markSpecial(asid, VA, 1, false)).toBe(1);
    expect((await mmu.unmapPages(asid, VA, 2)).map((r) => r.special)).toEqual([false, true]);
    mmu.switchTo(0, asid);
    expect(mmu.translate(0, VA, accessCode('read', true))).toBeLessThan(0);
  });
});
