import { FailedPreconditionError, VM_PFNMAP } from '@pagemesh/mmu';
import { GFP } from '@pagemesh/page-allocator';
import { PAGE_SIZE } from '@pagemesh/uapi';

import { applyRemapRequests } from './remap';
import { bootLabMachine, deviceVma } from './testing/lab-machine';

const START = 0x7f0000400000;

async function setup() {
  const m = await bootLabMachine();
  const asid = await m.mmu.createAddressSpace();
  const pfn = m.pa.allocPages(GFP.KERNEL, 3) as number;
  return { ...m, asid, pfn };
}

describe('applyRemapRequests', () => {
  it('applies calls in order, threading vm_flags, and maps nothing twice', async () => {
    const { mmu, asid, pfn } = await setup();
    const vma = deviceVma(mmu, {
      start: START,
      pages: 4,
      prot: { read: true, write: true },
      shared: true,
      fileWritable: true,
    });
    const p = vma.vmPageProt;
    const out = await applyRemapRequests(mmu, asid, vma, [
      { addr: START + 2 * PAGE_SIZE, pfn: pfn + 5, size: 2 * PAGE_SIZE, pgprot: p },
      { addr: START, pfn, size: 100, pgprot: p }, // size rounds up to a page
    ]);
    expect(out).toMatchObject({ errno: null, applied: 2, mappedPages: 3 });
    expect(out.vmFlags & VM_PFNMAP).toBe(VM_PFNMAP);
    expect((await mmu.pagemap(asid, START, 4)).map((e) => e.pfn)).toEqual([pfn, null, pfn + 5, pfn + 6]);
  });

  it('stops at the first refused call and zaps what the earlier calls mapped (the VMA is gone)', async () => {
    const { mmu, pa, asid, pfn } = await setup();
    const tables = mmu.tablePages(asid);
    const vma = deviceVma(mmu, {
      start: START,
      pages: 2,
      prot: { read: true },
      shared: true,
      fileWritable: true,
    });
    const p = vma.vmPageProt;
    const out = await applyRemapRequests(mmu, asid, vma, [
      { addr: START, pfn, size: PAGE_SIZE, pgprot: p },
      { addr: START + PAGE_SIZE, pfn: pfn + 1, size: 2 * PAGE_SIZE, pgprot: p }, // runs past vm_end
      { addr: START + PAGE_SIZE, pfn: pfn + 1, size: PAGE_SIZE, pgprot: p },
    ]);
    expect(out).toMatchObject({ errno: 'EINVAL', applied: 1, mappedPages: 0 });
    expect((await mmu.pagemap(asid, START, 2)).some((e) => e.present)).toBe(false);
    expect(mmu.tablePages(asid)).toBe(tables);
    expect(pa.pageCount(pfn)).toBe(1);
  });

  it('a call the kernel would BUG on (a PTE already present) is rethrown after the undo', async () => {
    const { mmu, asid, pfn } = await setup();
    const vma = deviceVma(mmu, {
      start: START,
      pages: 2,
      prot: { read: true },
      shared: true,
      fileWritable: true,
    });
    const p = vma.vmPageProt;
    await expect(
      applyRemapRequests(mmu, asid, vma, [
        { addr: START, pfn, size: PAGE_SIZE, pgprot: p },
        { addr: START, pfn, size: PAGE_SIZE, pgprot: p },
      ]),
    ).rejects.toBeInstanceOf(FailedPreconditionError);
    expect((await mmu.pagemap(asid, START, 2)).some((e) => e.present)).toBe(false);
  });

  it('an empty list maps nothing and leaves the VMA as it was', async () => {
    const { mmu, asid } = await setup();
    const vma = deviceVma(mmu, {
      start: START,
      pages: 2,
      prot: { read: true },
      shared: true,
      fileWritable: true,
    });
    expect(await applyRemapRequests(mmu, asid, vma, [])).toEqual({
      errno: null,
      vmFlags: vma.vmFlags,
      vmPgoff: 0,
      applied: 0,
      mappedPages: 0,
    });
  });
});
