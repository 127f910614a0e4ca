import { PAGE_SIZE } from '@pagemesh/uapi';

import { O_RDWR } from '../file';
import { applyRemapRequests } from '../remap';
import { bootLabMachine, deviceVma } from '../testing/lab-machine';

import { INIT_PATTERN, MMAP_DEV, MY_MAJOR, MY_MINOR } from './lab-constants';
import { PAGES_DEFAULT_ORDER } from './pages';

const START = 0x7f0000200000;

async function loaded(params: Record<string, string> = {}) {
  const m = await bootLabMachine('x86_64', 64 * 2 ** 20);
  const freeBefore = m.pa.nrFreePages;
  expect(await m.dd.loadModule('pages', params)).toEqual({ errno: null });
  await m.dd.mknod(MMAP_DEV, MY_MAJOR, MY_MINOR);
  const opened = await m.dd.open(MMAP_DEV, O_RDWR);
  if (!('file' in opened)) throw new Error(opened.errno);
  return { ...m, fd: opened.file.id, freeBefore };
}

describe('pages', () => {
  it('alloc_pages at the order parameter (default 4): contiguous pages, reserved, patterned; exit frees them', async () => {
    const m = await loaded();
    const mem = await m.dd.driverMemory('pages');
    if (!mem) throw new Error('not loaded');
    expect(mem).toMatchObject({ source: 'alloc_pages', allocationArg: PAGES_DEFAULT_ORDER });
    expect(mem.kaddr).toBe(m.pa.pageAddress(mem.allocation)); // page_address(): lowmem on x86_64
    expect(mem.pfns).toEqual(Array.from({ length: 16 }, (_, i) => mem.allocation + i));
    expect(mem.reserved.every(Boolean)).toBe(true);
    for (const pfn of mem.pfns)
      expect(m.pa.readPhys(pfn * PAGE_SIZE, 8)).toEqual(Uint8Array.of(...INIT_PATTERN, 0, 0, 0, 0));
    await m.dd.fput(m.fd);
    expect(await m.dd.unloadModule('pages')).toEqual({ errno: null });
    expect(m.pa.nrFreePages).toBe(m.freeBefore);
  });

  it('order parameter: 0 and 10 load; 11, -1 and non-numbers are EINVAL; unknown parameters are ignored with a warning', async () => {
    const m = await bootLabMachine('x86_64', 64 * 2 ** 20);
    for (const order of ['11', '-1', 'two', ''])
      expect(await m.dd.loadModule('pages', { order })).toEqual({ errno: 'EINVAL' });
    expect(await m.dd.loadModule('pages', { order: '0x0', colour: 'blue' })).toEqual({ errno: null });
    expect((await m.dd.driverMemory('pages'))?.pfns).toHaveLength(1);
    expect(m.dd.dmesg()).toContain("pages: unknown parameter 'colour' ignored");
    await m.dd.unloadModule('pages');
    expect(await m.dd.loadModule('pages', { order: '10' })).toEqual({ errno: null });
    expect((await m.dd.driverMemory('pages'))?.pfns).toHaveLength(1024);
  });

  it('mmap honours vm_pgoff: one remap from page_to_pfn + pgoff; beyond the buffer is EINVAL', async () => {
    const m = await loaded({ order: '2' });
    const mem = await m.dd.driverMemory('pages');
    const asid = await m.mmu.createAddressSpace();
    const vma = deviceVma(m.mmu, {
      start: START,
      pages: 2,
      prot: { read: true, write: true },
      shared: true,
      fileWritable: true,
      pgoff: 2,
    });
    const answer = await m.dd.mmap(m.fd, vma);
    expect(answer).toEqual({
      requests: [
        { addr: START, pfn: (mem?.allocation as number) + 2, size: 2 * PAGE_SIZE, pgprot: vma.vmPageProt },
      ],
    });
    if (!('requests' in answer)) return;
    expect((await applyRemapRequests(m.mmu, asid, vma, answer.requests)).errno).toBeNull();
    m.mmu.switchTo(0, asid);
    await m.mmu.accessBatch([
      { cpu: 0, va: START + PAGE_SIZE + 4, op: 'write', user: true, data: Uint8Array.of(0x42) },
    ]);
    const r = await m.dd.read(m.fd, 5, 3 * PAGE_SIZE);
    expect(r).toEqual({ data: Uint8Array.of(...INIT_PATTERN, 0x42) });
    for (const [pages, pgoff] of [
      [3, 2],
      [1, 4],
      [5, 0],
    ]) {
      const bad = deviceVma(m.mmu, {
        start: START,
        pages,
        prot: { read: true },
        shared: true,
        fileWritable: true,
        pgoff,
      });
      expect(await m.dd.mmap(m.fd, bad)).toEqual({ errno: 'EINVAL' });
    }
  });

  it('read/write follow simple_read_from_buffer / simple_write_to_buffer: f_pos advances, 0 at the end, short counts', async () => {
    const m = await loaded({ order: '0' });
    expect(await m.dd.write(m.fd, Uint8Array.of(1, 2, 3))).toEqual({ written: 3 });
    expect(m.dd.fileInfo(m.fd).pos).toBe(3);
    const r = await m.dd.read(m.fd, 2);
    expect(r).toEqual({ data: Uint8Array.of(0xdd, 0) }); // from f_pos 3: the pattern byte 3 is still there
    expect(m.dd.fileInfo(m.fd).pos).toBe(5);
    expect(await m.dd.read(m.fd, 4, 0)).toEqual({ data: Uint8Array.of(1, 2, 3, 0xdd) }); // pread leaves f_pos
    expect(m.dd.fileInfo(m.fd).pos).toBe(5);
    expect(await m.dd.read(m.fd, 10, PAGE_SIZE - 4)).toEqual({ data: new Uint8Array(4) }); // short count at the end
    expect(await m.dd.read(m.fd, 10, PAGE_SIZE)).toEqual({ data: new Uint8Array(0) }); // at the end: 0
    expect(await m.dd.write(m.fd, new Uint8Array(10).fill(7), 10, PAGE_SIZE - 2)).toEqual({ written: 2 });
    expect(await m.dd.write(m.fd, Uint8Array.of(1), 1, PAGE_SIZE)).toEqual({ written: 0 });
    expect(await m.dd.write(m.fd, new Uint8Array(0), 8, 0)).toEqual({ errno: 'EFAULT' }); // faults before the first byte
    expect(await m.dd.write(m.fd, Uint8Array.of(5, 5), 8, 0)).toEqual({ written: 2 }); // faults after two bytes
    expect(await m.dd.read(m.fd, 4, -1)).toEqual({ errno: 'EINVAL' });
  });

  it('stride parameter: every n-th page is mapped with its own PAGE_SIZE call; the holes stay unpopulated', async () => {
    const m = await loaded({ order: '3', stride: '3' });
    const mem = await m.dd.driverMemory('pages');
    const pfns = mem?.pfns ?? [];
    const asid = await m.mmu.createAddressSpace();
    const vma = deviceVma(m.mmu, {
      start: START,
      pages: 7,
      prot: { read: true },
      shared: true,
      fileWritable: true,
      pgoff: 1,
    });
    const answer = await m.dd.mmap(m.fd, vma);
    if (!('requests' in answer)) throw new Error(answer.errno);
    expect(answer.requests.map((r) => [r.addr, r.pfn, r.size])).toEqual([
      [START, pfns[1], PAGE_SIZE],
      [START + 3 * PAGE_SIZE, pfns[4], PAGE_SIZE],
      [START + 6 * PAGE_SIZE, pfns[7], PAGE_SIZE],
    ]);
    expect(await applyRemapRequests(m.mmu, asid, vma, answer.requests)).toMatchObject({
      errno: null,
      mappedPages: 3,
    });
    expect((await m.mmu.pagemap(asid, START, 7)).map((e) => e.present)).toEqual([
      true,
      false,
      false,
      true,
      false,
      false,
      true,
    ]);
    // a private mapping of a writable file is COW: per-page calls are refused (EINVAL)
    const cow = deviceVma(m.mmu, {
      start: START + 0x100000,
      pages: 4,
      prot: { read: true },
      shared: false,
      fileWritable: true,
    });
    const a2 = await m.dd.mmap(m.fd, cow);
    if (!('requests' in a2)) throw new Error(a2.errno);
    expect((await applyRemapRequests(m.mmu, asid, cow, a2.requests)).errno).toBe('EINVAL');
    expect(await m.dd.loadModule('pages', { stride: '0' })).toEqual({ errno: 'EEXIST' });
  });

  it('stride 0 or a non-number is EINVAL', async () => {
    const m = await bootLabMachine('x86_64', 32 * 2 ** 20);
    expect(await m.dd.loadModule('pages', { stride: '0' })).toEqual({ errno: 'EINVAL' });
    expect(await m.dd.loadModule('pages', { stride: 'x' })).toEqual({ errno: 'EINVAL' });
  });
});
