import { bootMachine } from '@pagemesh/page-allocator';
import { Mmu, inprocPageAllocatorPort as pageTablesPort } from '@pagemesh/mmu';
import { HPAGE_PMD_SIZE } from './huge-memory';
import { Machine } from './machine';
import { MmProcess } from './process';
import { inprocMmuPort, inprocPagesPort } from './inproc-ports';
import type { PageAllocatorPort } from './ports';
import * as M from './mman';

const A = 0x7e00_0000_0000;
const H = HPAGE_PMD_SIZE;
const RW = M.PROT_READ | M.PROT_WRITE;
const PRIVATE = M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_FIXED_NOREPLACE;

/** A process over a real page allocator and mmu, in process; `pages` may be wrapped. */
async function boot(wrap: (p: PageAllocatorPort) => PageAllocatorPort = (p) => p) {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
  const mmu = await Mmu.boot(pageTablesPort(pa), { cpus: 1 });
  const asid = await mmu.createAddressSpace();
  const pages = wrap(inprocPagesPort(pa));
  const proc = new MmProcess(new Machine(), asid, { mmu: inprocMmuPort(mmu), pages });
  const pagemap = (p: MmProcess, start: number, n: number) => p.pagemap(start, start + n * 4096);
  const leaf = (p: MmProcess, va: number) => mmu.walk(p.asid, va).leafLevel;
  const check = () => {
    pa.checkInvariants();
    mmu.checkInvariants();
  };
  return { pa, mmu, proc, pages, pagemap, leaf, check };
}

/** A 4 MiB VM_HUGEPAGE mapping at A (2 MiB aligned), as the oracle's large_thp_madvise does. */
async function hugeMapping(proc: MmProcess, len = 2 * H): Promise<void> {
  expect(await proc.mmap(A, len, RW, PRIVATE)).toEqual({ ret: A });
  expect(await proc.madvise(A, len, M.MADV_HUGEPAGE)).toEqual({ ret: 0 });
}

describe('THP: huge PMD faults (madvise mode)', () => {
  it('a write fault maps a zeroed 2 MiB folio with one PMD leaf: 512 consecutive exclusive pages, one fault', async () => {
    const { mmu, proc, pagemap, leaf, check } = await boot();
    await hugeMapping(proc);
    const tables = mmu.tablePages(proc.asid);
    expect(await proc.access(A + 0x5000, 1, true, 7)).toMatchObject({ done: 1, signal: null });
    expect(proc.minflt).toBe(1);
    expect(leaf(proc, A)).toBe('PMD');
    const e = await pagemap(proc, A, 512);
    expect(e.every((x) => x.present && x.exclusive && !x.special && x.writable)).toBe(true);
    expect((e[0].pfn as number) % 512).toBe(0);
    expect(e.map((x) => (x.pfn as number) - (e[0].pfn as number))).toEqual([...Array(512).keys()]);
    expect(proc.mm.rss.anon).toBe(512);
    expect(proc.anonHugeKb({ start: A, end: A + 2 * H })).toBe(2048);
    // PUD and PMD tables and the deposited PTE table
    expect(mmu.tablePages(proc.asid) - tables).toBe(3);
    expect(await proc.access(A, 2, false)).toMatchObject({ bytes: [0, 0], signal: null });
    expect((await proc.access(A + 0x5000, 1, false)).bytes).toEqual([7]);
    expect(proc.minflt).toBe(1);
    check();
  });

  it('a read fault maps the huge zero folio (present, not exclusive, no RSS); a write replaces it with a THP', async () => {
    const { proc, pagemap, leaf, check } = await boot();
    await hugeMapping(proc);
    expect(await proc.access(A, 3, false)).toMatchObject({ done: 3, bytes: [0, 0, 0] });
    expect(proc.minflt).toBe(1);
    expect(proc.mm.vmas.get(0).anonVma).not.toBeNull(); // vmf_anon_prepare comes first
    const zero = await pagemap(proc, A, 512);
    expect(zero.every((x) => x.present && !x.exclusive && x.special)).toBe(true);
    expect(new Set(zero.map((x) => x.pfn)).size).toBe(512);
    expect(proc.mm.rss.anon).toBe(0);
    expect(proc.anonHugeKb({ start: A, end: A + 2 * H })).toBe(0);
    await proc.access(A + 0x1000, 1, true, 5);
    expect(proc.minflt).toBe(2);
    expect(leaf(proc, A)).toBe('PMD');
    const thp = await pagemap(proc, A, 512);
    expect(thp.every((x) => x.exclusive && !x.special)).toBe(true);
    expect(thp[0].pfn).not.toBe(zero[0].pfn);
    expect(proc.mm.rss.anon).toBe(512);
    check();
  });

  it('falls back to 4 KiB pages without VM_HUGEPAGE, with VM_NOHUGEPAGE, off a whole 2 MiB, or with a PTE table there', async () => {
    const { proc, leaf, check } = await boot();
    await proc.mmap(A, 2 * H, RW, PRIVATE);
    await proc.access(A, 1, true);
    expect(leaf(proc, A)).toBe('PTE');
    await proc.madvise(A, 2 * H, M.MADV_HUGEPAGE);
    await proc.access(A + 0x1000, 1, true); // the PTE table is there: handle_pte_fault
    expect(leaf(proc, A + 0x1000)).toBe('PTE');
    await proc.madvise(A + H, H, M.MADV_NOHUGEPAGE);
    await proc.access(A + H, 1, true);
    expect(leaf(proc, A + H)).toBe('PTE');
    await proc.mmap(A + 4 * H + 0x1000, H, RW, PRIVATE); // no aligned 2 MiB inside
    await proc.madvise(A + 4 * H + 0x1000, H, M.MADV_HUGEPAGE);
    await proc.access(A + 5 * H, 1, true);
    expect(leaf(proc, A + 5 * H)).toBe('PTE');
    expect(proc.mm.rss.anon).toBe(4);
    check();
  });

  it('falls back to a 4 KiB page when no order-9 folio can be had', async () => {
    const { proc, leaf, check } = await boot((p) => ({ ...p, allocHugePage: async () => null }));
    await hugeMapping(proc);
    await proc.access(A, 1, true);
    expect(leaf(proc, A)).toBe('PTE');
    expect(proc.mm.rss.anon).toBe(1);
    expect(proc.minflt).toBe(1);
    check();
  });

  it('a write to the huge zero PMD with no folio to be had splits it and takes a 4 KiB page', async () => {
    const { proc, pages, pagemap, leaf, check } = await boot((p) => ({
      ...p,
      allocHugePage: async () => null,
    }));
    await hugeMapping(proc);
    await proc.access(A, 1, false);
    await proc.access(A + 0x2000, 1, true);
    expect(leaf(proc, A)).toBe('PTE');
    const e = await pagemap(proc, A, 512);
    // __split_huge_zero_page_pmd: the other 511 PTEs map ZERO_PAGE, not the huge zero folio
    const zeros = e.filter((x) => x.special);
    expect(zeros).toHaveLength(511);
    expect(new Set(zeros.map((x) => x.pfn))).toEqual(new Set([await pages.zeroPage()]));
    expect(proc.mm.rss.anon).toBe(1);
    expect(proc.minflt).toBe(2);
    check();
  });
});

describe('THP: splits and zaps', () => {
  it('munmap of part splits the PMD (the rest stays mapped by PTEs); munmap of the rest frees folio and tables', async () => {
    const { pa, proc, pages, pagemap, leaf, check } = await boot();
    await hugeMapping(proc);
    await pages.zeroPage(); // ZERO_PAGE, allocated by the first read walk and kept
    const before = pa.counters();
    await proc.access(A, 1, true, 9);
    const pfns = (await pagemap(proc, A, 512)).map((e) => e.pfn);
    expect(await proc.munmap(A + 0x10000, 0x4000)).toEqual({ ret: 0 });
    expect(leaf(proc, A)).toBe('PTE');
    expect(proc.anonHugeKb({ start: A, end: A + H })).toBe(0);
    expect(proc.mm.rss.anon).toBe(508);
    const after = await pagemap(proc, A, 512);
    after.forEach((e, i) => expect(e.present ? e.pfn : null).toBe(i >= 16 && i < 20 ? null : pfns[i]));
    expect((await proc.access(A, 1, false)).bytes).toEqual([9]);
    check();
    await proc.munmap(A, 2 * H);
    expect(pa.counters()).toEqual(before);
    check();
  });

  it('munmap of the whole 2 MiB zaps the PMD: folio and deposited table freed', async () => {
    const { pa, mmu, proc, check } = await boot();
    await hugeMapping(proc);
    const before = pa.counters();
    await proc.access(A, 1, true);
    await proc.munmap(A, H);
    expect(pa.counters()).toEqual(before);
    expect(mmu.tablePages(proc.asid)).toBe(1);
    check();
  });

  it('mprotect of the whole PMD keeps it huge (change_huge_pmd); of part, splits it', async () => {
    const { proc, mmu, leaf, check } = await boot();
    await hugeMapping(proc);
    await proc.access(A, 1, true);
    await proc.mprotect(A, H, M.PROT_READ);
    expect(leaf(proc, A)).toBe('PMD');
    expect(mmu.walk(proc.asid, A).writable).toBe(false);
    expect(await proc.access(A, 1, true)).toMatchObject({ signal: 'SIGSEGV' });
    await proc.mprotect(A, H, RW);
    expect(mmu.walk(proc.asid, A).writable).toBe(true); // exclusive: writable again, no fault
    const faults = proc.minflt;
    await proc.access(A + 0x3000, 1, true);
    expect(proc.minflt).toBe(faults);
    await proc.mprotect(A + 0x1000, 0x1000, M.PROT_READ);
    expect(leaf(proc, A)).toBe('PTE');
    expect(mmu.walk(proc.asid, A + 0x1000).writable).toBe(false);
    expect(mmu.walk(proc.asid, A + 0x2000).writable).toBe(true);
    expect(proc.mm.rss.anon).toBe(512);
    check();
  });

  it('MADV_DONTNEED of part splits and zaps it; a VMA split off 2 MiB (MADV_NOHUGEPAGE of part) splits the PMD', async () => {
    const { proc, leaf, check } = await boot();
    await hugeMapping(proc);
    await proc.access(A, 1, true);
    await proc.access(A + H, 1, true);
    await proc.madvise(A + 0x8000, 0x2000, M.MADV_DONTNEED);
    expect(leaf(proc, A)).toBe('PTE');
    expect(proc.mm.rss.anon).toBe(1022);
    await proc.madvise(A + H + 0x1000, 0x1000, M.MADV_NOHUGEPAGE);
    expect(leaf(proc, A + H)).toBe('PTE');
    expect(proc.mm.rss.anon).toBe(1022);
    check();
  });

  it('MADV_FREE of a whole THP keeps it mapped, clean and old', async () => {
    const { proc, leaf, pagemap, check } = await boot();
    await hugeMapping(proc);
    await proc.access(A, 1, true);
    await proc.madvise(A, H, M.MADV_FREE);
    expect(leaf(proc, A)).toBe('PMD');
    const [e] = await pagemap(proc, A, 1);
    expect(e).toMatchObject({ present: true, dirty: false, young: false });
    check();
  });

  it('mremap to a 2 MiB-aligned address moves the PMD whole; to another address splits it', async () => {
    const { proc, leaf, check } = await boot();
    await hugeMapping(proc, H);
    await proc.access(A, 1, true, 3);
    const to = A + 8 * H;
    expect(await proc.mremap(A, H, H, M.MREMAP_MAYMOVE | M.MREMAP_FIXED, to)).toEqual({ ret: to });
    expect(leaf(proc, to)).toBe('PMD');
    expect(proc.anonHugeKb({ start: to, end: to + H })).toBe(2048);
    expect((await proc.access(to, 1, false)).bytes).toEqual([3]);
    const odd = A + 16 * H + 0x1000;
    expect(await proc.mremap(to, H, H, M.MREMAP_MAYMOVE | M.MREMAP_FIXED, odd)).toEqual({ ret: odd });
    expect(leaf(proc, odd)).toBe('PTE');
    expect((await proc.access(odd, 1, false)).bytes).toEqual([3]);
    expect(proc.mm.rss.anon).toBe(512);
    check();
  });
  it('a PROT_NONE THP stays PROT_NONE when moved whole and when forked', async () => {
    const { proc, pagemap, check } = await boot();
    await hugeMapping(proc, H);
    await proc.access(A, 1, true, 6);
    await proc.mprotect(A, H, M.PROT_NONE);
    const to = A + 8 * H;
    expect(await proc.mremap(A, H, H, M.MREMAP_MAYMOVE | M.MREMAP_FIXED, to)).toEqual({ ret: to });
    expect(proc.hugeAt(to)).toBeDefined(); // still one PMD leaf, P clear (walk: not present)
    expect((await pagemap(proc, to, 1))[0].present).toBe(true);
    expect(await proc.access(to, 1, false)).toMatchObject({ signal: 'SIGSEGV' });
    const child = await proc.fork();
    expect(await child.access(to, 1, false)).toMatchObject({ signal: 'SIGSEGV' });
    await child.mprotect(to, H, RW);
    expect((await child.access(to, 1, false)).bytes).toEqual([6]);
    await child.exit();
    check();
  });
});

describe('THP: fork', () => {
  it('the child shares the folio read-only; a write in the parent splits and copies one page; exit frees everything', async () => {
    const { pa, proc, pages, pagemap, leaf, check } = await boot();
    await hugeMapping(proc);
    await pages.zeroPage(); // ZERO_PAGE, allocated by the first read walk and kept
    const before = pa.counters();
    await proc.access(A, 1, true, 4);
    const child = await proc.fork();
    expect(leaf(child, A)).toBe('PMD');
    const [p0] = await pagemap(proc, A, 1);
    const [c0] = await pagemap(child, A, 1);
    expect(c0.pfn).toBe(p0.pfn);
    expect(p0).toMatchObject({ exclusive: false, writable: false });
    expect(child.mm.rss.anon).toBe(512);
    expect(child.anonHugeKb({ start: A, end: A + H })).toBe(2048);
    const faults = proc.minflt;
    await proc.access(A + 0x1000, 1, true, 8);
    expect(proc.minflt).toBe(faults + 1);
    expect(leaf(proc, A)).toBe('PTE');
    expect(leaf(child, A)).toBe('PMD');
    const [p1] = await pagemap(proc, A + 0x1000, 1);
    expect(p1.pfn).not.toBe((c0.pfn as number) + 1);
    expect((await child.access(A + 0x1000, 1, false)).bytes).toEqual([0]);
    expect((await proc.access(A, 1, false)).bytes).toEqual([4]);
    check();
    await child.exit();
    await proc.munmap(A, 2 * H);
    expect(pa.counters()).toEqual(before);
    check();
  });

  it('after the child exits, a write to the parent huge PMD reuses it', async () => {
    const { proc, leaf, check } = await boot();
    await hugeMapping(proc);
    await proc.access(A, 1, true);
    const child = await proc.fork();
    await child.exit();
    const faults = proc.minflt;
    await proc.access(A, 1, true);
    expect(proc.minflt).toBe(faults + 1);
    expect(leaf(proc, A)).toBe('PMD');
    check();
  });
});
