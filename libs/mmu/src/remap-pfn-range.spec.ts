import { bootMachine, GFP } from '@pagemesh/page-allocator';

import { accessCode } from './access';
import { FailedPreconditionError, InvalidArgumentError } from './errors';
import { inprocPageAllocatorPort } from './inproc-page-allocator-port';
import { KERNEL_ASID, Mmu } from './mmu';
import { PROT_X86_64 } from './paging/pte-bits';
import {
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_IO,
  VM_MAYWRITE,
  VM_PFNMAP,
  VM_SHARED,
  isCowMapping,
} from './remap-pfn-range';

const VM_READ = 0x1;
const VM_WRITE = 0x2;
const VM_MAYREAD = 0x10;
const SHARED_RW = VM_READ | VM_WRITE | VM_SHARED | VM_MAYREAD | VM_MAYWRITE | 0x80;
const PRIVATE_RW = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE;
const START = 0x7f0000000000;

async function setup() {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa));
  const asid = await mmu.createAddressSpace();
  const pfn = pa.allocPages(GFP.KERNEL, 2) as number; // a kmalloc-like contiguous buffer
  return { pa, mmu, asid, pfn };
}

describe('remap_pfn_range', () => {
  it('maps special PTEs, sets VM_IO|VM_PFNMAP|VM_DONTEXPAND|VM_DONTDUMP, takes no references', async () => {
    const { pa, mmu, asid, pfn } = await setup();
    const vma = { start: START, end: START + 4 * 4096, flags: SHARED_RW, pgoff: 0 };
    const before = [0, 1, 2, 3].map((i) => [pa.pageCount(pfn + i), pa.pageMapcount(pfn + i)]);
    const r = await mmu.remapPfnRange(asid, vma, START, pfn, 4 * 4096 - 100, PROT_X86_64.PAGE_SHARED);
    expect(r).toEqual({
      errno: null,
      vmFlags: SHARED_RW | VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP,
      vmPgoff: 0,
    });
    const t = mmu.walk(asid, START + 4096);
    expect(t.steps[3].entry).toBe(`0x80000000${((pfn + 1) * 4096 + 0x227).toString(16).padStart(8, '0')}`);
    expect([0, 1, 2, 3].map((i) => [pa.pageCount(pfn + i), pa.pageMapcount(pfn + i)])).toEqual(before);
    const pm = await mmu.pagemap(asid, START, 5);
    expect(pm.map((e) => [e.present, e.pfn, e.special, e.exclusive])).toEqual([
      [true, pfn, true, false],
      [true, pfn + 1, true, false],
      [true, pfn + 2, true, false],
      [true, pfn + 3, true, false],
      [false, null, false, false],
    ]);
    expect(pm[0].hi >>> 31).toBe(1);
    // user writes reach the kernel buffer: what the lab's kmmap checks
    mmu.switchTo(0, asid);
    await mmu.accessBatch([{ cpu: 0, va: START + 8, op: 'write', user: true, data: Uint8Array.of(0xaa) }]);
    expect(pa.readPhys(pfn * 4096 + 8, 1)).toEqual(Uint8Array.of(0xaa));
    expect(mmu.translate(0, START, accessCode('read', true))).toBe(pfn * 4096);
  });

  it('returns -EINVAL for an unaligned address and leaves the VMA alone', async () => {
    const { mmu, asid, pfn } = await setup();
    const vma = { start: START, end: START + 4096, flags: SHARED_RW, pgoff: 3 };
    expect(await mmu.remapPfnRange(asid, vma, START + 12, pfn, 4096, PROT_X86_64.PAGE_SHARED)).toEqual({
      errno: 'EINVAL',
      vmFlags: SHARED_RW,
      vmPgoff: 3,
    });
    expect(mmu.walk(asid, START).present).toBe(false);
  });

  it('applies the COW rule: a private writable mapping must be remapped whole, and gets vm_pgoff = pfn', async () => {
    const { mmu, asid, pfn } = await setup();
    expect(isCowMapping(PRIVATE_RW)).toBe(true);
    expect(isCowMapping(SHARED_RW)).toBe(false);
    const vma = { start: START, end: START + 2 * 4096, flags: PRIVATE_RW, pgoff: 0 };
    expect((await mmu.remapPfnRange(asid, vma, START, pfn, 4096, PROT_X86_64.PAGE_COPY)).errno).toBe(
      'EINVAL',
    );
    expect((await mmu.remapPfnRange(asid, vma, START + 4096, pfn, 4096, PROT_X86_64.PAGE_COPY)).errno).toBe(
      'EINVAL',
    );
    const ok = await mmu.remapPfnRange(asid, vma, START, pfn, 2 * 4096, PROT_X86_64.PAGE_COPY);
    expect(ok).toEqual({
      errno: null,
      vmFlags: PRIVATE_RW | VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP,
      vmPgoff: pfn,
    });
  });

  it('refuses a range outside the VMA with -EINVAL (the kernel leaves that to the driver)', async () => {
    const { mmu, asid, pfn } = await setup();
    const vma = { start: START, end: START + 4096, flags: SHARED_RW, pgoff: 0 };
    expect((await mmu.remapPfnRange(asid, vma, START, pfn, 2 * 4096, PROT_X86_64.PAGE_SHARED)).errno).toBe(
      'EINVAL',
    );
  });

  it('rejects what the kernel would BUG on, and names that are not real, changing nothing', async () => {
    const { mmu, asid, pfn, pa } = await setup();
    const vma = { start: START, end: START + 4 * 4096, flags: SHARED_RW, pgoff: 0 };
    await expect(mmu.remapPfnRange(asid, vma, START, pfn, 0, PROT_X86_64.PAGE_SHARED)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(
      mmu.remapPfnRange(asid, vma, START, pa.profile.maxPfn - 1, 8192, PROT_X86_64.PAGE_SHARED),
    ).rejects.toMatchObject({ field: 'pfn' });
    await expect(
      mmu.remapPfnRange(KERNEL_ASID, vma, START, pfn, 4096, PROT_X86_64.PAGE_SHARED),
    ).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(mmu.remapPfnRange(77, vma, START, pfn, 4096, PROT_X86_64.PAGE_SHARED)).rejects.toMatchObject(
      { kind: 'not-found' },
    );
    await mmu.remapPfnRange(asid, vma, START + 4096, pfn, 4096, PROT_X86_64.PAGE_SHARED);
    await expect(
      mmu.remapPfnRange(asid, vma, START, pfn, 2 * 4096, PROT_X86_64.PAGE_SHARED),
    ).rejects.toBeInstanceOf(FailedPreconditionError);
    expect(mmu.walk(asid, START).present).toBe(false);
  });

  it('returns -ENOMEM when page tables cannot be allocated, with the VMA flags already set', async () => {
    const { mmu, asid, pfn, pa } = await setup();
    const hog: number[] = [];
    for (
      let p = pa.allocPages(GFP.KERNEL | GFP.NOWARN, 0);
      p !== null;
      p = pa.allocPages(GFP.KERNEL | GFP.NOWARN, 0)
    )
      hog.push(p);
    const vma = { start: START, end: START + 4096, flags: SHARED_RW, pgoff: 0 };
    const r = await mmu.remapPfnRange(asid, vma, START, pfn, 4096, PROT_X86_64.PAGE_SHARED);
    expect(r.errno).toBe('ENOMEM');
    expect(r.vmFlags & VM_PFNMAP).toBe(VM_PFNMAP);
    expect(mmu.tablePages(asid)).toBe(1);
    for (const p of hog) pa.freePages(p, 0);
  });
});
