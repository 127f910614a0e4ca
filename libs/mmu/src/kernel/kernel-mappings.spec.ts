import { PageType, bootMachine } from '@pagemesh/page-allocator';

import { accessCode, isPageFault, pageFaultCode } from '../access';
import { NotFoundError, ResourceExhaustedError, FailedPreconditionError } from '../errors';
import { inprocPageAllocatorPort } from '../inproc-page-allocator-port';
import { KERNEL_ASID, Mmu } from '../mmu';
import { formatVa } from '../paging/va48';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

async function bootReal(arch: 'x86_64' | 'x86', memBytes: number) {
  const pa = bootMachine({ arch, memBytes });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 2 });
  return { pa, mmu };
}

function meminfo(pa: ReturnType<typeof bootMachine>, key: string): number {
  const line = pa
    .procMeminfo()
    .split('\n')
    .find((l: string) => l.startsWith(`${key}:`));
  return Number(/(\d+) kB/.exec(line as string)?.[1]);
}

describe('boot over the real page allocator', () => {
  it('takes page-table frames as PageType.Table and counts them in PageTables', async () => {
    const { pa, mmu } = await bootReal('x86_64', 256 * MiB);
    expect(meminfo(pa, 'PageTables')).toBe(mmu.tablePages() * 4);
    const t = mmu.walk(KERNEL_ASID, mmu.pfnToVirt(0) as number);
    for (const s of t.steps) expect(pa.pageType(s.tablePfn)).toBe(PageType.Table);
  });

  it('x86: direct-maps the first 896 MiB with 4 MiB pages, nothing above', async () => {
    const { mmu } = await bootReal('x86', 1 * GiB);
    const t = mmu.walk(KERNEL_ASID, 0xc0401234);
    expect(t.leafLevel).toBe('PGD');
    expect(t.steps[0].entry).toBe('0x004001e3');
    expect(t.physAddr).toBe(0x401234);
    expect(mmu.pfnToVirt(0x37fff)).toBe(0xc0000000 + 0x37fff * 4096);
    expect(mmu.pfnToVirt(0x38000)).toBeNull();
    expect(mmu.walk(KERNEL_ASID, 0xf8000000).present).toBe(false);
  });
});

describe('vmalloc', () => {
  it('maps order-0 pages contiguously in the vmalloc area with a guard page after each area', async () => {
    const { pa, mmu } = await bootReal('x86_64', 256 * MiB);
    const used0 = meminfo(pa, 'VmallocUsed');
    const a = (await mmu.vmalloc(16 * 4096, 'kmmap_init+0x10/0x80 [kmmap]')) as number;
    const b = (await mmu.vmalloc(1, 'vmmap_init+0x20/0x90 [vmmap]')) as number;
    expect(a).toBe(mmu.profile.vmallocStart);
    expect(b).toBe(a + 17 * 4096);
    expect(meminfo(pa, 'VmallocUsed')).toBe(used0 + 17 * 4);
    expect(mmu.procVmallocinfo()).toBe(
      `0xffffc90000000000-0xffffc90000011000   69632 kmmap_init+0x10/0x80 [kmmap] pages=16 vmalloc N0=16\n` +
        `0xffffc90000011000-0xffffc90000013000    8192 vmmap_init+0x20/0x90 [vmmap] pages=1 vmalloc N0=1\n`,
    );
    const pfns = Array.from({ length: 16 }, (_, i) => mmu.vmallocToPfn(a + i * 4096) as number);
    expect(new Set(pfns).size).toBe(16);
    expect(mmu.vmallocToPfn(a + 16 * 4096)).toBeNull(); // the guard page
    // kernel access through the vmalloc address reaches the page behind it
    pa.writePhys(pfns[3] * 4096 + 5, Uint8Array.of(42));
    const [r] = await mmu.accessBatch([{ cpu: 0, va: a + 3 * 4096 + 5, op: 'read', user: false, length: 1 }]);
    expect(r).toEqual({ kind: 'ok', data: Uint8Array.of(42) });
    const [g] = await mmu.accessBatch([
      { cpu: 0, va: a + 16 * 4096, op: 'write', user: false, data: Uint8Array.of(1) },
    ]);
    expect(g).toEqual({ kind: 'page-fault', address: a + 16 * 4096, errorCode: 0x2 });
    mmu.checkInvariants();
  });

  it('vfree unmaps, flushes every CPU and returns the pages; the address is reused', async () => {
    const { pa, mmu } = await bootReal('x86_64', 256 * MiB);
    const free0 = pa.nrFreePages;
    const a = (await mmu.vmalloc(3 * 4096)) as number;
    const tables = mmu.tablePages();
    mmu.translate(1, a, 0);
    await mmu.vfree(a);
    expect(isPageFault(mmu.translate(1, a, 0))).toBe(true);
    expect(pa.nrFreePages).toBe(free0 - (mmu.tablePages() - tables + 2)); // only the new kernel tables stay
    await expect(mmu.vfree(a)).rejects.toBeInstanceOf(NotFoundError);
    expect(await mmu.vmalloc(4096)).toBe(a);
    expect(await mmu.vmalloc(0)).toBeNull();
    expect(await mmu.vmalloc(512 * MiB)).toBeNull();
    mmu.checkInvariants();
  });

  it('x86: uses highmem pages, lives between VMALLOC_START and VMALLOC_END, and is seen from every address space', async () => {
    const { mmu } = await bootReal('x86', 1 * GiB);
    const asid = await mmu.createAddressSpace();
    const a = (await mmu.vmalloc(64 * 4096)) as number;
    expect(a).toBe(0xf8800000);
    expect(formatVa(a, 32)).toBe('0xf8800000');
    const pfns = Array.from({ length: 64 }, (_, i) => mmu.vmallocToPfn(a + i * 4096) as number);
    expect(pfns.some((p) => p >= 0x38000)).toBe(true); // __GFP_HIGHMEM
    mmu.switchTo(0, asid);
    expect(mmu.translate(0, a + 4096, accessCode('write', false))).toBe(pfns[1] * 4096);
    expect(pageFaultCode(mmu.translate(0, a, accessCode('read', true)))).toBe(0x5);
    const later = await mmu.createAddressSpace();
    expect(mmu.walk(later, a).pfn).toBe(pfns[0]);
    mmu.checkInvariants();
  });
});

describe('kmap', () => {
  it('x86_64 and x86 lowmem: kmap is the direct-map address', async () => {
    const { mmu } = await bootReal('x86_64', 64 * MiB);
    expect(await mmu.kmap(100)).toBe(mmu.pfnToVirt(100));
    expect(await mmu.kmapLocal(0, 100)).toBe(mmu.pfnToVirt(100));
  });

  it('x86 highmem: PKMAP slots, page_address while mapped, lazy unmapping', async () => {
    const { pa, mmu } = await bootReal('x86', 1 * GiB);
    const high = 0x3f000;
    pa.writePhys(high * 4096, Uint8Array.of(9, 8, 7));
    expect(mmu.pageAddress(high)).toBeNull();
    const v = await mmu.kmap(high);
    expect(v).toBeGreaterThanOrEqual(0xff800000);
    expect(v).toBeLessThan(0xffc00000);
    expect(mmu.pageAddress(high)).toBe(v);
    expect(await mmu.kmap(high)).toBe(v);
    const [r] = await mmu.accessBatch([{ cpu: 1, va: v, op: 'read', user: false, length: 3 }]);
    expect(r).toEqual({ kind: 'ok', data: Uint8Array.of(9, 8, 7) });
    await mmu.kunmap(high);
    await mmu.kunmap(high);
    await expect(mmu.kunmap(high)).rejects.toBeInstanceOf(FailedPreconditionError);
    expect(mmu.pageAddress(high)).toBe(v); // until flush_all_zero_pkmaps
    expect(await mmu.kmap(high)).toBe(v);
    mmu.checkInvariants();
  });

  it('x86: runs out of PKMAP slots like a kernel that would sleep, and recycles freed ones', async () => {
    const { mmu } = await bootReal('x86', 1 * GiB);
    const first = 0x38000;
    for (let i = 0; i < 1024; i++) await mmu.kmap(first + i); // LAST_PKMAP slots, 0 included
    await expect(mmu.kmap(first + 2000)).rejects.toBeInstanceOf(ResourceExhaustedError);
    await mmu.kunmap(first + 5);
    const v = await mmu.kmap(first + 2000);
    expect(mmu.pageAddress(first + 5)).toBeNull();
    expect(mmu.walk(KERNEL_ASID, v).pfn).toBe(first + 2000);
    mmu.checkInvariants();
  });

  it('x86: kmap_local uses per-CPU fixmap slots in stack order', async () => {
    const { mmu } = await bootReal('x86', 1 * GiB);
    const a = await mmu.kmapLocal(1, 0x39000);
    const b = await mmu.kmapLocal(1, 0x39001);
    expect(a - b).toBe(4096);
    expect(mmu.translate(1, b, 0)).toBe(0x39001 * 4096);
    await expect(mmu.kunmapLocal(1, a)).rejects.toBeInstanceOf(FailedPreconditionError);
    await mmu.kunmapLocal(1, b);
    expect(isPageFault(mmu.translate(1, b, 0))).toBe(true);
    await mmu.kunmapLocal(1, a);
    mmu.checkInvariants();
  });
});

describe('the direct map and /proc/meminfo DirectMap', () => {
  it.each([
    ['x86_64', 256 * MiB],
    ['x86_64', 3 * GiB + 6 * MiB + 12 * 1024],
    ['x86', 1 * GiB],
    ['x86', 100 * MiB + 8192],
  ] as const)('%s with %i bytes agrees with the page allocator', async (arch, memBytes) => {
    const { pa, mmu } = await bootReal(arch, memBytes);
    const d = mmu.directMapKb();
    expect(d.k4).toBe(meminfo(pa, 'DirectMap4k'));
    expect(d.large).toBe(meminfo(pa, arch === 'x86' ? 'DirectMap4M' : 'DirectMap2M'));
    if (arch === 'x86_64') expect(d.g1).toBe(meminfo(pa, 'DirectMap1G'));
  });
});
