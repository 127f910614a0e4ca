import { VM_DONTDUMP, VM_DONTEXPAND, VM_IO, VM_PFNMAP } from '@pagemesh/mmu';
import { PAGE_SIZE } from '@pagemesh/uapi';

import { O_RDWR } from '../file';
import { applyRemapRequests } from '../remap';
import { bootLabMachine, deviceVma } from '../testing/lab-machine';

import { KMMAP_KMALLOC_SIZE } from './kmmap';
import {
  INIT_PATTERN,
  MMAP_DEV,
  MY_MAJOR,
  MY_MINOR,
  NPAGES,
  PROC_ENTRY_NAME,
  WRITE_PATTERN,
} from './lab-constants';

const START = 0x7f1234560000;
const REMAP_FLAGS = VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;

async function loaded() {
  const m = await bootLabMachine();
  const freeBefore = m.pa.nrFreePages;
  expect(await m.dd.loadModule('kmmap')).toEqual({ errno: null });
  expect(await m.dd.mknod(MMAP_DEV, MY_MAJOR, MY_MINOR)).toEqual({ errno: null });
  const opened = await m.dd.open(MMAP_DEV, O_RDWR | 0o4010000 /* O_SYNC */);
  if (!('file' in opened)) throw new Error(opened.errno);
  return { ...m, fd: opened.file.id, freeBefore };
}

/** Bytes 0..3 of each of `pages` pages as user reads through the mapping. */
async function userPatterns(m: Awaited<ReturnType<typeof loaded>>, asid: number, pages: number) {
  m.mmu.switchTo(0, asid);
  const r = await m.mmu.accessBatch(
    Array.from({ length: pages }, (_, i) => ({
      cpu: 0,
      va: START + i * PAGE_SIZE,
      op: 'read' as const,
      user: true,
      length: 4,
    })),
  );
  return r.map((x) => (x.kind === 'ok' ? [...(x.data as Uint8Array)] : x.kind));
}

describe('kmmap', () => {
  it('init: kmalloc(18 pages) is an order-5 page allocation; 16 pages reserved and patterned; chrdev 42 "mymap"; proc entry', async () => {
    const m = await bootLabMachine();
    const free = m.pa.nrFreePages;
    await m.dd.loadModule('kmmap');
    expect(free - m.pa.nrFreePages).toBe(32);
    const mem = await m.dd.driverMemory('kmmap');
    expect(mem).not.toBeNull();
    if (!mem) return;
    expect(mem.source).toBe('kmalloc');
    expect(mem.allocationArg).toBe(KMMAP_KMALLOC_SIZE);
    expect(mem.kaddr).toBe(mem.allocation); // large kmalloc is page aligned: PAGE_ALIGN is a no-op
    expect(m.pa.ksize(mem.allocation)).toBe(32 * PAGE_SIZE);
    expect(mem.pfns).toEqual(Array.from({ length: NPAGES }, (_, i) => mem.pfns[0] + i));
    expect(mem.reserved).toEqual(new Array(NPAGES).fill(true));
    expect(m.pa.page(mem.pfns[0] + 16).flags).not.toContain('reserved'); // the 2 extra pages are not reserved
    for (const pfn of mem.pfns) expect(m.pa.readPhys(pfn * PAGE_SIZE, 4)).toEqual(INIT_PATTERN);
    expect(m.dd.procDevices()).toBe('Character devices:\n 42 mymap\n');
    expect(m.dd.procEntries()).toEqual([PROC_ENTRY_NAME]);
  });

  it('mmap-test 1: a 16-page PROT_READ MAP_SHARED mapping shows aa bb cc dd on every page, as special PTEs with no refcount', async () => {
    const m = await loaded();
    const asid = await m.mmu.createAddressSpace();
    const vma = deviceVma(m.mmu, {
      start: START,
      pages: NPAGES,
      prot: { read: true },
      shared: true,
      fileWritable: true,
    });
    const mem = await m.dd.driverMemory('kmmap');
    const pfns = mem?.pfns ?? [];
    const counts = pfns.map((p) => [m.pa.pageCount(p), m.pa.pageMapcount(p)]);
    const answer = await m.dd.mmap(m.fd, vma);
    expect(answer).toEqual({
      requests: [{ addr: START, pfn: pfns[0], size: NPAGES * PAGE_SIZE, pgprot: vma.vmPageProt }],
    });
    if (!('requests' in answer)) return;
    const out = await applyRemapRequests(m.mmu, asid, vma, answer.requests);
    expect(out).toEqual({
      errno: null,
      vmFlags: vma.vmFlags | REMAP_FLAGS,
      vmPgoff: 0,
      applied: 1,
      mappedPages: 16,
    });
    expect(await userPatterns(m, asid, NPAGES)).toEqual(new Array(NPAGES).fill([...INIT_PATTERN]));
    const pm = await m.mmu.pagemap(asid, START, NPAGES + 1);
    expect(pm.map((e) => e.pfn)).toEqual([...pfns, null]);
    expect(pm.slice(0, NPAGES).every((e) => e.special && e.present)).toBe(true);
    expect(pfns.map((p) => [m.pa.pageCount(p), m.pa.pageMapcount(p)])).toEqual(counts);
    // PROT_READ: the PTEs use vm_page_prot (PAGE_READONLY), so a user write faults with a protection fault
    const w = await m.mmu.accessBatch([
      { cpu: 0, va: START, op: 'write', user: true, data: Uint8Array.of(1) },
    ]);
    expect(w[0]).toMatchObject({ kind: 'page-fault', address: START, errorCode: 0x7 });
  });

  it('mmap-test 2: write(fd) of 16 pages shows through the mapping, and read(fd) returns it', async () => {
    const m = await loaded();
    const asid = await m.mmu.createAddressSpace();
    const vma = deviceVma(m.mmu, {
      start: START,
      pages: NPAGES,
      prot: { read: true },
      shared: true,
      fileWritable: true,
    });
    const answer = await m.dd.mmap(m.fd, vma);
    if (!('requests' in answer)) throw new Error(answer.errno);
    await applyRemapRequests(m.mmu, asid, vma, answer.requests);
    const buf = new Uint8Array(NPAGES * PAGE_SIZE);
    for (let i = 0; i < NPAGES; i++) buf.set(WRITE_PATTERN, i * PAGE_SIZE);
    expect(await m.dd.write(m.fd, buf)).toEqual({ written: NPAGES * PAGE_SIZE });
    expect(await userPatterns(m, asid, NPAGES)).toEqual(new Array(NPAGES).fill([...WRITE_PATTERN]));
    const r = await m.dd.read(m.fd, NPAGES * PAGE_SIZE);
    expect(r).toEqual({ data: buf });
    expect(m.dd.fileInfo(m.fd).pos).toBe(0); // the lab's read/write never move f_pos
  });

  it('vm_pgoff is ignored, as in the lab: the mapping always starts at the first page', async () => {
    const m = await loaded();
    const pfn0 = (await m.dd.driverMemory('kmmap'))?.pfns[0];
    const vma = deviceVma(m.mmu, {
      start: START,
      pages: 2,
      prot: { read: true },
      shared: true,
      fileWritable: true,
      pgoff: 5,
    });
    expect(await m.dd.mmap(m.fd, vma)).toMatchObject({
      requests: [{ addr: START, pfn: pfn0, size: 2 * PAGE_SIZE }],
    });
  });

  it('mmap of 17 pages: -EIO before any remap', async () => {
    const m = await loaded();
    const vma = deviceVma(m.mmu, {
      start: START,
      pages: NPAGES + 1,
      prot: { read: true },
      shared: true,
      fileWritable: true,
    });
    expect(await m.dd.mmap(m.fd, vma)).toEqual({ errno: 'EIO' });
  });

  it('a smaller mapping maps the first pages; a MAP_PRIVATE one (one whole-VMA call) gets vm_pgoff = pfn', async () => {
    const m = await loaded();
    const asid = await m.mmu.createAddressSpace();
    const pfn0 = (await m.dd.driverMemory('kmmap'))?.pfns[0] as number;
    const vma = deviceVma(m.mmu, {
      start: START,
      pages: 3,
      prot: { read: true, write: true },
      shared: false,
      fileWritable: true,
    });
    const answer = await m.dd.mmap(m.fd, vma);
    if (!('requests' in answer)) throw new Error(answer.errno);
    const out = await applyRemapRequests(m.mmu, asid, vma, answer.requests);
    expect(out).toMatchObject({ errno: null, vmPgoff: pfn0, mappedPages: 3 });
    expect(await userPatterns(m, asid, 4)).toEqual([
      [...INIT_PATTERN],
      [...INIT_PATTERN],
      [...INIT_PATTERN],
      'page-fault',
    ]);
  });

  it('read: at most 16 pages, always from the start (offset ignored); write: zeroes the area, copies at most 16 pages', async () => {
    const m = await loaded();
    const big = await m.dd.read(m.fd, 1 << 20);
    expect('data' in big && big.data.length).toBe(NPAGES * PAGE_SIZE);
    const at = await m.dd.read(m.fd, 8, 3 * PAGE_SIZE); // pread at page 3 still reads page 0
    expect('data' in at && [...at.data.subarray(0, 4)]).toEqual([...INIT_PATTERN]);
    expect(await m.dd.read(m.fd, 0)).toEqual({ data: new Uint8Array(0) });
    expect(await m.dd.write(m.fd, Uint8Array.of(1, 2, 3))).toEqual({ written: 3 });
    const after = await m.dd.read(m.fd, 2 * PAGE_SIZE);
    const expected = new Uint8Array(2 * PAGE_SIZE);
    expected.set([1, 2, 3]);
    expect(after).toEqual({ data: expected }); // page 1's pattern is gone: the whole area was zeroed
    const huge = new Uint8Array(NPAGES * PAGE_SIZE + 100).fill(7);
    expect(await m.dd.write(m.fd, huge)).toEqual({ written: NPAGES * PAGE_SIZE });
  });

  it('write whose user buffer faults part-way: the copied prefix stays, the rest is zero, -EFAULT', async () => {
    const m = await loaded();
    expect(await m.dd.write(m.fd, Uint8Array.of(9, 9), 100)).toEqual({ errno: 'EFAULT' });
    const r = await m.dd.read(m.fd, 8);
    expect(r).toEqual({ data: Uint8Array.of(9, 9, 0, 0, 0, 0, 0, 0) });
  });

  it('/proc/my-proc-entry: total VMA size and comm; an extra 10 MiB mapping reads as 10 MB more (mmap-test 3)', async () => {
    const m = await loaded();
    const vmas = [
      { start: 0x400000, end: 0x401000 },
      { start: START, end: START + NPAGES * PAGE_SIZE },
    ];
    const before = await m.dd.readProc(PROC_ENTRY_NAME, { comm: 'mmap-test', vmas });
    expect(before).toEqual({ text: `${4096 + 65536} mmap-test\n` });
    const after = await m.dd.readProc(PROC_ENTRY_NAME, {
      comm: 'mmap-test',
      vmas: [...vmas, { start: 0x7f0000000000, end: 0x7f0000000000 + 10 * 2 ** 20 }],
    });
    const n = (r: typeof after) => ('text' in r ? parseInt(r.text, 10) : NaN);
    expect(Math.floor((n(after) - n(before)) / 2 ** 20)).toBe(10);
    expect(m.dd.dmesg()).toContain(`${START.toString(16)} ${(START + 0x10000).toString(16)}`);
    expect(await m.dd.readProc(PROC_ENTRY_NAME, { comm: 'a-very-long-command-name', vmas: [] })).toEqual({
      text: '0 a-very-long-com\n', // TASK_COMM_LEN - 1 characters
    });
    expect(await m.dd.readProc(PROC_ENTRY_NAME, { comm: 'x', vmas: [] }, 1, 0)).toEqual({ text: '0' });
  });

  it('unload: refused with EAGAIN while the file is open; exit clears PG_reserved and frees every page', async () => {
    const m = await loaded();
    const mem = await m.dd.driverMemory('kmmap');
    const asid = await m.mmu.createAddressSpace();
    const vma = deviceVma(m.mmu, {
      start: START,
      pages: NPAGES,
      prot: { read: true },
      shared: true,
      fileWritable: true,
    });
    const answer = await m.dd.mmap(m.fd, vma);
    if (!('requests' in answer)) throw new Error(answer.errno);
    await applyRemapRequests(m.mmu, asid, vma, answer.requests);
    await m.dd.getFile(m.fd); // the VMA's reference
    expect(await m.dd.unloadModule('kmmap')).toEqual({ errno: 'EAGAIN' });
    expect(await m.dd.fput(m.fd)).toEqual({ released: false }); // close(fd): the VMA still holds the file
    expect(await m.dd.unloadModule('kmmap')).toEqual({ errno: 'EAGAIN' });
    expect(m.dd.listModules().find((x) => x.name === 'kmmap')).toMatchObject({ loaded: true, refcount: 1 });
    await m.mmu.unmapPages(asid, START, NPAGES); // munmap
    expect(await m.dd.fput(m.fd)).toEqual({ released: true });
    expect(await m.dd.unloadModule('kmmap')).toEqual({ errno: null });
    for (const pfn of mem?.pfns ?? []) expect(m.pa.isFree(pfn)).toBe(true);
    await m.mmu.destroyAddressSpace(asid);
    expect(m.pa.nrFreePages).toBe(m.freeBefore);
    expect(m.dd.procDevices()).toBe('Character devices:\n');
    expect(m.dd.procEntries()).toEqual([]);
    expect(await m.dd.open(MMAP_DEV, O_RDWR)).toEqual({ errno: 'ENXIO' }); // the node outlives the driver
    expect(await m.dd.unlink(MMAP_DEV)).toEqual({ errno: null });
    m.pa.checkInvariants();
    m.mmu.checkInvariants();
  });

  it('works the same on 32-bit x86 (no NX in the PTEs)', async () => {
    const m = await bootLabMachine('x86', 64 * 2 ** 20);
    await m.dd.loadModule('kmmap');
    await m.dd.mknod(MMAP_DEV, MY_MAJOR, MY_MINOR);
    const opened = await m.dd.open(MMAP_DEV, O_RDWR);
    if (!('file' in opened)) throw new Error(opened.errno);
    const asid = await m.mmu.createAddressSpace();
    const start = 0x40000000;
    const vma = deviceVma(m.mmu, {
      start,
      pages: NPAGES,
      prot: { read: true, write: true },
      shared: true,
      fileWritable: true,
    });
    const answer = await m.dd.mmap(opened.file.id, vma);
    if (!('requests' in answer)) throw new Error(answer.errno);
    expect((await applyRemapRequests(m.mmu, asid, vma, answer.requests)).errno).toBeNull();
    m.mmu.switchTo(0, asid);
    const r = await m.mmu.accessBatch([
      { cpu: 0, va: start + 5 * PAGE_SIZE, op: 'write', user: true, data: Uint8Array.of(0x5a) },
      { cpu: 0, va: start + 5 * PAGE_SIZE, op: 'read', user: true, length: 4 },
    ]);
    expect(r[1]).toEqual({ kind: 'ok', data: Uint8Array.of(0x5a, 0xbb, 0xcc, 0xdd) });
  });
});
