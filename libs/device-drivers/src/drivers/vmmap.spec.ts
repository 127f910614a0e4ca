import { PROT_X86, PROT_X86_64, VM_DONTDUMP, VM_DONTEXPAND, VM_IO, VM_PFNMAP } from '@pagemesh/mmu';
import { PAGE_SIZE } from '@pagemesh/uapi';

import { O_RDWR } from '../file';
import { applyRemapRequests } from '../remap';
import { bootLabMachine, deviceVma } from '../testing/lab-machine';

import { INIT_PATTERN, MMAP_DEV, MY_MAJOR, MY_MINOR, NPAGES, WRITE_PATTERN } from './lab-constants';

const START = 0x7f0000100000;

async function loaded(arch: 'x86_64' | 'x86' = 'x86_64') {
  const m = await bootLabMachine(arch, 64 * 2 ** 20);
  // init_mm's page tables for the vmalloc area stay after vfree, as in Linux: count them apart
  const freeBefore = m.pa.nrFreePages + m.mmu.tablePages();
  expect(await m.dd.loadModule('vmmap')).toEqual({ errno: null });
  await m.dd.mknod(MMAP_DEV, MY_MAJOR, MY_MINOR);
  const opened = await m.dd.open(MMAP_DEV, O_RDWR);
  if (!('file' in opened)) throw new Error(opened.errno);
  const asid = await m.mmu.createAddressSpace();
  return { ...m, fd: opened.file.id, freeBefore, asid };
}

describe('vmmap', () => {
  it('init: a 16-page vmalloc area, each page reserved and patterned', async () => {
    const m = await loaded();
    const mem = await m.dd.driverMemory('vmmap');
    if (!mem) throw new Error('not loaded');
    expect(mem.source).toBe('vmalloc');
    expect(m.mmu.vmallocAreasList().map((a) => a.addr)).toEqual([mem.kaddr]);
    expect(mem.pfns.map((_, i) => m.mmu.vmallocToPfn((mem.kaddr as number) + i * PAGE_SIZE))).toEqual(
      mem.pfns,
    );
    expect(mem.reserved).toEqual(new Array(NPAGES).fill(true));
    for (const pfn of mem.pfns) expect(m.pa.readPhys(pfn * PAGE_SIZE, 4)).toEqual(INIT_PATTERN);
  });

  it('mmap: one PAGE_SIZE remap per page with vmalloc_to_pfn and PAGE_SHARED; the user sees the pattern', async () => {
    const m = await loaded();
    const mem = await m.dd.driverMemory('vmmap');
    const vma = deviceVma(m.mmu, {
      start: START,
      pages: NPAGES,
      prot: { read: true },
      shared: true,
      fileWritable: true,
    });
    const answer = await m.dd.mmap(m.fd, vma);
    expect(answer).toEqual({
      requests: (mem?.pfns ?? []).map((pfn, i) => ({
        addr: START + i * PAGE_SIZE,
        pfn,
        size: PAGE_SIZE,
        pgprot: PROT_X86_64.PAGE_SHARED,
      })),
    });
    if (!('requests' in answer)) return;
    const out = await applyRemapRequests(m.mmu, m.asid, vma, answer.requests);
    expect(out).toMatchObject({ errno: null, applied: NPAGES, mappedPages: NPAGES });
    expect(out.vmFlags).toBe(vma.vmFlags | VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
    m.mmu.switchTo(0, m.asid);
    const reads = await m.mmu.accessBatch(
      Array.from({ length: NPAGES }, (_, i) => ({
        cpu: 0,
        va: START + i * PAGE_SIZE,
        op: 'read' as const,
        user: true,
        length: 4,
      })),
    );
    expect(reads.every((r) => r.kind === 'ok' && r.data?.join() === INIT_PATTERN.join())).toBe(true);
    // PAGE_SHARED PTEs are writable although the VMA is PROT_READ: the user write succeeds (as on Linux)
    const w = await m.mmu.accessBatch([
      { cpu: 0, va: START + 2 * PAGE_SIZE, op: 'write', user: true, data: WRITE_PATTERN },
    ]);
    expect(w[0].kind).toBe('ok');
    const r = await m.dd.read(m.fd, 3 * PAGE_SIZE);
    expect('data' in r && [...r.data.subarray(2 * PAGE_SIZE, 2 * PAGE_SIZE + 4)]).toEqual([...WRITE_PATTERN]);
    const t = m.mmu.walk(m.asid, START);
    expect(t.steps[t.steps.length - 1].entry).toBe(
      `0x80000000${((mem?.pfns[0] as number) * PAGE_SIZE + 0x227).toString(16).padStart(8, '0')}`,
    );
  });

  it('a private mapping of a writable file is a COW mapping: the first per-page call fails with EINVAL, nothing stays mapped', async () => {
    const m = await loaded();
    const vma = deviceVma(m.mmu, {
      start: START,
      pages: 4,
      prot: { read: true },
      shared: false,
      fileWritable: true,
    });
    const answer = await m.dd.mmap(m.fd, vma);
    if (!('requests' in answer)) throw new Error(answer.errno);
    expect(answer.requests).toHaveLength(4);
    const out = await applyRemapRequests(m.mmu, m.asid, vma, answer.requests);
    expect(out).toMatchObject({ errno: 'EINVAL', applied: 0, mappedPages: 0, vmFlags: vma.vmFlags });
    expect((await m.mmu.pagemap(m.asid, START, 4)).some((e) => e.present)).toBe(false);
  });

  it('a one-page private mapping is one whole-VMA call and works', async () => {
    const m = await loaded();
    const pfn0 = (await m.dd.driverMemory('vmmap'))?.pfns[0];
    const vma = deviceVma(m.mmu, {
      start: START,
      pages: 1,
      prot: { read: true },
      shared: false,
      fileWritable: true,
    });
    const answer = await m.dd.mmap(m.fd, vma);
    if (!('requests' in answer)) throw new Error(answer.errno);
    expect(await applyRemapRequests(m.mmu, m.asid, vma, answer.requests)).toMatchObject({
      errno: null,
      vmPgoff: pfn0,
    });
  });

  it('-EIO beyond 16 pages; unload frees the vmalloc area and its pages', async () => {
    const m = await loaded();
    const vma = deviceVma(m.mmu, {
      start: START,
      pages: NPAGES + 1,
      prot: { read: true },
      shared: true,
      fileWritable: true,
    });
    expect(await m.dd.mmap(m.fd, vma)).toEqual({ errno: 'EIO' });
    expect(await m.dd.fput(m.fd)).toEqual({ released: true });
    expect(await m.dd.unloadModule('vmmap')).toEqual({ errno: null });
    expect(m.mmu.vmallocAreasList()).toEqual([]);
    await m.mmu.destroyAddressSpace(m.asid);
    expect(m.pa.nrFreePages + m.mmu.tablePages()).toBe(m.freeBefore);
  });

  it('on 32-bit x86 the vmalloc pages come from highmem and still map (kaddr is the vmalloc address)', async () => {
    const m = await bootLabMachine('x86', 1024 * 2 ** 20);
    await m.dd.loadModule('vmmap');
    const mem = await m.dd.driverMemory('vmmap');
    expect(mem?.pfns.every((p) => m.pa.pageAddress(p) === null)).toBe(true); // highmem: no direct map
    await m.dd.mknod(MMAP_DEV, MY_MAJOR, MY_MINOR);
    const opened = await m.dd.open(MMAP_DEV, O_RDWR);
    if (!('file' in opened)) throw new Error(opened.errno);
    const asid = await m.mmu.createAddressSpace();
    const vma = deviceVma(m.mmu, {
      start: 0x10000000,
      pages: 2,
      prot: { read: true },
      shared: true,
      fileWritable: true,
    });
    const answer = await m.dd.mmap(opened.file.id, vma);
    if (!('requests' in answer)) throw new Error(answer.errno);
    expect(answer.requests.map((r) => r.pgprot)).toEqual([PROT_X86.PAGE_SHARED, PROT_X86.PAGE_SHARED]); // no NX bit
    expect((await applyRemapRequests(m.mmu, asid, vma, answer.requests)).errno).toBeNull();
    m.mmu.switchTo(1, asid);
    const r = await m.mmu.accessBatch([
      { cpu: 1, va: 0x10000000 + PAGE_SIZE, op: 'read', user: true, length: 4 },
    ]);
    expect(r[0]).toEqual({ kind: 'ok', data: INIT_PATTERN });
  });
});
