import { bootMachine, GFP } from '@pagemesh/page-allocator';

import { inprocPageAllocatorPort } from './inproc-page-allocator-port';
import { KERNEL_ASID, Mmu } from './mmu';
import { PROT_X86_64, PROT_X86 } from './paging/pte-bits';

function pageTablesKb(pa: ReturnType<typeof bootMachine>): number {
  const line = pa
    .procMeminfo()
    .split('\n')
    .find((l: string) => l.startsWith('PageTables:'));
  return Number(/(\d+) kB/.exec(line as string)?.[1]);
}

describe.each([
  ['x86_64', 128 * 2 ** 20, PROT_X86_64.PAGE_SHARED, [0x400000, 0x7f0000000000, 0x555555554000]],
  ['x86', 1024 * 2 ** 20, PROT_X86.PAGE_SHARED, [0x400000, 0x08048000, 0xbf000000]],
] as const)('no leak on %s', (arch, memBytes, prot, bases) => {
  it('gives every page-table frame back when address spaces are unmapped and destroyed', async () => {
    const pa = bootMachine({ arch, memBytes });
    const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 2 });
    const free0 = pa.nrFreePages;
    const tables0 = pageTablesKb(pa);
    const data = pa.allocPagesBulk(GFP.HIGHUSER, 0, 64);
    const spaces = [];
    for (let s = 0; s < 5; s++) {
      const asid = await mmu.createAddressSpace();
      spaces.push(asid);
      for (const base of bases) await mmu.mapPages(asid, base + s * 0x200000, data.slice(0, 40), prot);
    }
    mmu.switchTo(0, spaces[0]);
    mmu.switchTo(1, spaces[1]);
    expect(pageTablesKb(pa)).toBeGreaterThan(tables0);
    // unmapping everything frees the tables below the PGD as they empty
    for (const base of bases) await mmu.unmapPages(spaces[2], base + 2 * 0x200000, 40);
    expect(mmu.tablePages(spaces[2])).toBe(1);
    const v = (await mmu.vmalloc(10 * 4096)) as number;
    await mmu.vfree(v);
    mmu.switchTo(0, KERNEL_ASID);
    mmu.switchTo(1, KERNEL_ASID);
    for (const asid of spaces) await mmu.destroyAddressSpace(asid);
    pa.freePagesBulk(data, 0);
    // kernel tables created for the vmalloc area stay, as in Linux
    const keptKernelTables = pageTablesKb(pa) - tables0;
    expect(pa.nrFreePages).toBe(free0 - keptKernelTables / 4);
    expect(mmu.tablePages()).toBe(mmu.tablePages(KERNEL_ASID));
    mmu.checkInvariants();
    pa.checkInvariants();
  });
});
