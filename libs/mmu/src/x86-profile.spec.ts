import { accessCode, isPageFault, pageFaultCode } from './access';
import { KERNEL_ASID, Mmu } from './mmu';
import { PROT_X86, PROT_X86_64 } from './paging/pte-bits';
import { FakePageAllocatorPort } from './testing/fake-page-allocator-port';

const MiB = 2 ** 20;

describe('x86 2-level profile', () => {
  async function boot() {
    const port = new FakePageAllocatorPort('x86', 1024 * MiB, 896 * MiB);
    const mmu = await Mmu.boot(port);
    const asid = await mmu.createAddressSpace();
    return { port, mmu, asid };
  }

  it('walks PGD -> PTE with 4-byte entries', async () => {
    const { mmu, asid } = await boot();
    await mmu.mapPages(asid, 0x08048000, [0x1234], PROT_X86.PAGE_READONLY_EXEC);
    const t = mmu.walk(asid, 0x08048abc);
    expect(t.steps.map((s) => [s.level, s.index])).toEqual([
      ['PGD', 32],
      ['PTE', 72],
    ]);
    expect(t.steps[1].entry).toBe('0x01234025');
    expect(t.steps[1].entryPaddr).toBe(t.steps[1].tablePfn * 4096 + 4 * 72);
    expect(t.physAddr).toBe(0x1234abc);
  });

  it('has no NX: fetches are reads, and the error code has no I/D bit', async () => {
    const { mmu, asid } = await boot();
    await mmu.mapPages(asid, 0x08048000, [0x1234], PROT_X86.PAGE_READONLY);
    mmu.switchTo(0, asid);
    expect(isPageFault(mmu.translate(0, 0x08048000, accessCode('fetch', true)))).toBe(false);
    expect(pageFaultCode(mmu.translate(0, 0x09000000, accessCode('fetch', true)))).toBe(0x4);
    expect(pageFaultCode(mmu.translate(0, 0x08048000, accessCode('write', true)))).toBe(0x7);
  });

  it('refuses NX and addresses in the kernel half', async () => {
    const { mmu, asid } = await boot();
    await expect(mmu.mapPages(asid, 0x08048000, [1], PROT_X86_64.PAGE_READONLY)).rejects.toMatchObject({
      kind: 'invalid-argument',
      field: 'prot',
    });
    await expect(mmu.mapPages(asid, 0xc0000000, [1], PROT_X86.PAGE_READONLY)).rejects.toMatchObject({
      field: 'va',
    });
    await expect(mmu.mapPages(KERNEL_ASID, 0xc0000000, [1], PROT_X86.PAGE_KERNEL)).rejects.toMatchObject({
      kind: 'failed-precondition',
    });
  });

  it('treats an address beyond 32 bits as #GP', async () => {
    const { mmu } = await boot();
    expect(isPageFault(mmu.translate(0, 2 ** 32, 0))).toBe(false);
    expect(mmu.translate(0, 2 ** 32, 0)).toBeLessThan(0);
  });
});

describe('PCID', () => {
  it('keeps TLB_NR_DYN_ASIDS address spaces tagged per CPU and recycles the oldest', async () => {
    const port = new FakePageAllocatorPort('x86_64', 64 * MiB);
    const mmu = await Mmu.boot(port, { pcid: true, cpus: 1 });
    expect(mmu.cr3(0)).toMatchObject({ asid: KERNEL_ASID, pcid: 1 }); // init_mm took PCID 1 at boot
    const spaces: number[] = [];
    for (let i = 0; i < 7; i++) {
      const a = await mmu.createAddressSpace();
      await mmu.mapPages(a, 0x400000 + i * 4096, [100 + i], PROT_X86_64.PAGE_SHARED); // distinct TLB sets
      spaces.push(a);
    }
    spaces.slice(0, 5).forEach((a, i) => {
      mmu.switchTo(0, a);
      mmu.translate(0, 0x400000 + i * 4096, 4);
    });
    expect(mmu.cr3(0).pcid).toBe(6);
    mmu.switchTo(0, spaces[0]);
    mmu.translate(0, 0x400000, 4); // still tagged: hit
    expect(mmu.tlbStats(0)).toMatchObject({ misses: 5, hits: 1 });
    mmu.switchTo(0, spaces[5]); // takes PCID 1 from init_mm
    mmu.switchTo(0, spaces[6]); // takes PCID 2 from spaces[0]
    expect(mmu.cr3(0).pcid).toBe(2);
    mmu.switchTo(0, spaces[0]);
    expect(mmu.translate(0, 0x400000, 4)).toBe(100 * 4096);
    expect(mmu.tlbStats(0).misses).toBe(6);
    mmu.checkInvariants();
  });
});
