import { bootMachine } from '@pagemesh/page-allocator';
import { Mmu, inprocPageAllocatorPort as pageTablesPort } from '@pagemesh/mmu';
import { Machine } from './machine';
import { MmProcess } from './process';
import { inprocMmuPort, inprocPagesPort } from './inproc-ports';
import * as M from './mman';
import { PageStateUnavailableError } from './errors';

const A = 0x7e00_0000_0000;
const RW = M.PROT_READ | M.PROT_WRITE;
const PRIVATE = M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_FIXED_NOREPLACE;
const SHARED = M.MAP_SHARED | M.MAP_ANONYMOUS | M.MAP_FIXED_NOREPLACE;

/** A process over a real (small) page allocator and mmu, in process. */
async function boot() {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
  const mmu = await Mmu.boot(pageTablesPort(pa), { cpus: 1 });
  const asid = await mmu.createAddressSpace();
  const pages = inprocPagesPort(pa);
  const proc = new MmProcess(new Machine(), asid, { mmu: inprocMmuPort(mmu), pages });
  const present = async (start: number, n: number) =>
    (await proc.pagemap(start, start + n * 4096)).map((e) => e.present);
  const read = async (va: number) => {
    const [e] = await proc.pagemap(va, va + 4096);
    const [b] = await pages.readBytes([{ pfn: e.pfn as number, offset: 0, length: 1 }]);
    return b[0];
  };
  const write = async (va: number, value: number) => {
    const w = await proc.access(va, 1, true, value);
    expect(w.signal).toBeNull();
  };
  const pfnAt = async (p: MmProcess, va: number) => (await p.pagemap(va, va + 4096))[0].pfn;
  return { pa, mmu, proc, present, read, write, pfnAt };
}

describe('MmProcess over the real mmu and page allocator', () => {
  it('a read fault maps the shared zero page, a write fault a private page of its own', async () => {
    const { proc, read, pfnAt } = await boot();
    await proc.mmap(A, 0x2000, RW, PRIVATE);
    const r = await proc.access(A, 2, false);
    expect(r).toMatchObject({ done: 2, signal: null, bytes: [0, 0] });
    const zero = await pfnAt(proc, A);
    expect(await pfnAt(proc, A + 0x1000)).toBe(zero);
    const [e] = await proc.pagemap(A, A + 0x1000);
    expect(e).toMatchObject({ present: true, special: true, writable: false });
    await proc.access(A, 1, true, 0);
    expect(await pfnAt(proc, A)).not.toBe(zero);
    expect(await read(A)).toBe(0);
    expect(proc.minflt).toBe(3);
    expect(proc.mm.rss).toEqual({ anon: 1, file: 0, shmem: 0 });
    expect(proc.mm.vmas.get(0).anonVma).not.toBeNull();
  });

  it('munmap zaps the PTEs and frees the pages', async () => {
    const { pa, proc, present, write } = await boot();
    await proc.mmap(A, 0x4000, RW, PRIVATE);
    const free0 = pa.counters();
    await write(A + 0x1000, 7);
    expect(await proc.munmap(A, 0x2000)).toEqual({ ret: 0 });
    expect(await present(A, 4)).toEqual([false, false, false, false]);
    expect(pa.counters()).toEqual(free0);
  });

  it('PROT_NONE keeps the pages; an access is SIGSEGV; rw- again shows the data', async () => {
    const { proc, present, write, read } = await boot();
    await proc.mmap(A, 0x2000, RW, PRIVATE);
    await write(A, 9);
    await proc.mprotect(A, 0x2000, M.PROT_NONE);
    expect(await present(A, 1)).toEqual([true]);
    expect(await proc.access(A, 1, false)).toMatchObject({ done: 0, signal: 'SIGSEGV' });
    await proc.mprotect(A, 0x2000, RW);
    expect(await read(A)).toBe(9);
  });

  it('an exclusive page made r-- then rw- takes no fault on the next write', async () => {
    const { proc, write } = await boot();
    await proc.mmap(A, 0x1000, RW, PRIVATE);
    await write(A, 1);
    await proc.mprotect(A, 0x1000, M.PROT_READ);
    await proc.mprotect(A, 0x1000, RW);
    const before = proc.minflt;
    await write(A, 2);
    expect(proc.minflt).toBe(before);
  });

  it('mremap moves the pages with their data', async () => {
    const { proc, present, write, read } = await boot();
    await proc.mmap(A, 0x2000, RW, PRIVATE);
    await write(A, 5);
    await proc.mremap(A, 0x2000, 0x2000, M.MREMAP_MAYMOVE | M.MREMAP_FIXED, A + 0x10000);
    expect(await present(A, 1)).toEqual([false]);
    expect(await read(A + 0x10000)).toBe(5);
  });

  it('MADV_DONTNEED drops private data but not shared memory', async () => {
    const { proc, write, read } = await boot();
    await proc.mmap(A, 0x1000, RW, PRIVATE);
    await proc.mmap(A + 0x2000, 0x1000, RW, SHARED);
    await write(A, 3);
    await write(A + 0x2000, 4);
    await proc.madvise(A, 0x3000, M.MADV_DONTNEED);
    await proc.access(A, 1, false);
    await proc.access(A + 0x2000, 1, false);
    expect(await read(A)).toBe(0);
    expect(await read(A + 0x2000)).toBe(4);
    expect(proc.mm.rss).toEqual({ anon: 0, file: 0, shmem: 1 });
  });

  it('a growsdown VMA grows to the faulting page unless an accessible VMA is within the guard gap', async () => {
    const { proc } = await boot();
    await proc.mmap(A + 0x400000, 0x10000, RW, PRIVATE | M.MAP_GROWSDOWN);
    expect(await proc.access(A + 0x3fc000, 1, true)).toMatchObject({ signal: null });
    expect(proc.mm.vmas.get(0).start).toBe(A + 0x3fc000);
    await proc.mmap(A + 0x300000, 0x1000, RW, PRIVATE);
    expect(await proc.access(A + 0x3f0000, 1, true)).toMatchObject({ signal: 'SIGSEGV' });
  });

  it('fork shares private pages copy-on-write; the child writes its own copy', async () => {
    const { proc, write, read, pfnAt } = await boot();
    await proc.mmap(A, 0x2000, RW, PRIVATE);
    await write(A, 1);
    const child = await proc.fork();
    const [pe] = await proc.pagemap(A, A + 0x1000);
    const [ce] = await child.pagemap(A, A + 0x1000);
    expect(pe).toMatchObject({ writable: false, exclusive: false });
    expect(ce.pfn).toBe(pe.pfn);
    expect(child.mm.vmas.get(0).anonVmaInherited).toBe(true);
    await child.access(A, 1, true, 2);
    expect(await pfnAt(child, A)).not.toBe(pe.pfn);
    await child.exit();
    expect(await read(A)).toBe(1);
    const [after] = await proc.pagemap(A, A + 0x1000);
    expect(after.exclusive).toBe(true);
  });

  it('faults in pages for MAP_POPULATE; MADV_GUARD_INSTALL is not wired', async () => {
    const { proc, present } = await boot();
    await proc.mmap(A, 0x2000, RW, PRIVATE | M.MAP_POPULATE);
    expect(await present(A, 2)).toEqual([true, true]);
    await expect(proc.madvise(A, 0x1000, M.MADV_GUARD_INSTALL)).rejects.toBeInstanceOf(
      PageStateUnavailableError,
    );
  });
});
