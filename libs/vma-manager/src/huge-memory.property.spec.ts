import fc from 'fast-check';
import { bootMachine } from '@pagemesh/page-allocator';
import { Mmu, inprocPageAllocatorPort as pageTablesPort } from '@pagemesh/mmu';
import { HPAGE_PMD_SIZE } from './huge-memory';
import { Machine } from './machine';
import { type FaultResult, MmProcess } from './process';
import { inprocMmuPort, inprocPagesPort } from './inproc-ports';
import * as M from './mman';

/** Three 2 MiB spans, cut in 256 KiB steps so that calls land both on and off PMD boundaries. */
const BASE = 0x7e00_0000_0000;
const STEP = 0x40000;
const WINDOW = 3 * HPAGE_PMD_SIZE;
const STEPS = WINDOW / STEP;
const PAGES = WINDOW / 4096;
/** Where pages may be: a call starting in the window may reach 4 MiB past it. */
const VIEW = 2 * WINDOW;

const at = fc.nat({ max: STEPS - 1 }).map((k) => BASE + k * STEP);
const len = fc.integer({ min: 1, max: 16 }).map((n) => n * STEP);
const prot = fc.constantFrom(M.PROT_READ, M.PROT_READ | M.PROT_WRITE, M.PROT_NONE);

type Op =
  | { op: 'mmap'; addr: number; len: number; stack: boolean; huge: boolean }
  | { op: 'munmap'; addr: number; len: number }
  | { op: 'mprotect'; addr: number; len: number; prot: number }
  | { op: 'madvise'; addr: number; len: number; advice: number }
  | { op: 'mremap'; addr: number; len: number; to: number }
  | { op: 'faults'; faults: { page: number; write: boolean }[] }
  | { op: 'fork' }
  | { op: 'exitChild' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('mmap' as const),
      addr: at,
      len,
      stack: fc.boolean(),
      huge: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('munmap' as const), addr: at, len }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('mprotect' as const), addr: at, len, prot }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('madvise' as const),
      addr: at,
      len,
      advice: fc.constantFrom(
        M.MADV_HUGEPAGE,
        M.MADV_HUGEPAGE,
        M.MADV_NOHUGEPAGE,
        M.MADV_DONTNEED,
        M.MADV_FREE,
        M.MADV_POPULATE_WRITE,
        M.MADV_POPULATE_READ,
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('mremap' as const), addr: at, len, to: at }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('faults' as const),
      faults: fc.array(fc.record({ page: fc.nat({ max: PAGES - 1 }), write: fc.boolean() }), {
        minLength: 1,
        maxLength: 8,
      }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'fork' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'exitChild' as const }) },
);

/** One machine and a process on it; its faults are handled in batches or one by one. */
async function stack(batched: boolean) {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
  const mmu = await Mmu.boot(pageTablesPort(pa), { cpus: 1 });
  const pages = inprocPagesPort(pa);
  const free = pa.nrFreePages;
  const proc = new MmProcess(new Machine(), await mmu.createAddressSpace(), {
    mmu: inprocMmuPort(mmu),
    pages,
  });
  let child: MmProcess | null = null;
  const run = async (o: Op): Promise<unknown> => {
    switch (o.op) {
      case 'mmap': {
        const flags = M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_FIXED | (o.stack ? M.MAP_STACK : 0);
        const r = await proc.mmap(o.addr, o.len, M.PROT_READ | M.PROT_WRITE, flags);
        return o.huge ? [r, await proc.madvise(o.addr, o.len, M.MADV_HUGEPAGE)] : r;
      }
      case 'munmap':
        return proc.munmap(o.addr, o.len);
      case 'mprotect':
        return proc.mprotect(o.addr, o.len, o.prot);
      case 'madvise':
        return proc.madvise(o.addr, o.len, o.advice);
      case 'mremap':
        return proc.mremap(o.addr, o.len, o.len, M.MREMAP_MAYMOVE | M.MREMAP_FIXED, o.to);
      case 'faults': {
        const vas = o.faults.map((f) => BASE + f.page * 4096);
        const out: FaultResult[] = [];
        if (!batched) {
          for (let i = 0; i < vas.length; i++) out.push(await proc.fault(vas[i], o.faults[i].write));
          return out;
        }
        const batch = proc.faultBatch(vas);
        for (let i = 0; i < vas.length; i++) out.push(await batch.fault(i, o.faults[i].write));
        await batch.flush();
        return out;
      }
      case 'fork':
        if (!child) child = await proc.fork();
        return null;
      case 'exitChild':
        if (child) await child.exit();
        child = null;
        return null;
    }
  };
  /** What the process shows: its pages (pfn and bits), RSS, faults and AnonHugePages. */
  const view = async () => {
    const entries = await proc.pagemap(BASE, BASE + VIEW);
    const present = entries.filter((e) => e.present);
    // RSS counts exactly the present pages with a struct page (not the zero folios)
    expect(proc.mm.rss.anon).toBe(present.filter((e) => !e.special).length);
    pa.checkInvariants();
    mmu.checkInvariants();
    return {
      pages: present.map((e) => [e.va, e.pfn, e.writable, e.dirty, e.exclusive, e.special]),
      rss: proc.mm.rss.anon,
      minflt: proc.minflt,
      huge: proc.anonHugeKb({ start: BASE, end: BASE + VIEW }),
    };
  };
  /** Everything exits: every page and table goes back but ZERO_PAGE and the huge zero folio. */
  const exitAll = async () => {
    if (child) await child.exit();
    await proc.exit();
    const kept =
      ((await pages.zeroPage()) === null ? 0 : 1) + ((await pages.hugeZeroPage()) === null ? 0 : 512);
    expect(pa.nrFreePages).toBe(free - kept);
    pa.checkInvariants();
    mmu.checkInvariants();
  };
  return { run, view, exitAll };
}

describe('THP under random syscalls, faults and forks on VM_HUGEPAGE mappings', () => {
  it('keeps RSS equal to the mapped pages, batched faults equal to one-by-one, and leaks nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 20 }), async (ops) => {
        const a = await stack(true);
        const b = await stack(false);
        // the whole window VM_HUGEPAGE first, as the oracle's large_thp_madvise maps it
        const start: Op = { op: 'mmap', addr: BASE, len: WINDOW, stack: false, huge: true };
        for (const o of [start, ...ops]) {
          expect(await a.run(o)).toEqual(await b.run(o));
          expect(await a.view()).toEqual(await b.view());
        }
        await a.exitAll();
        await b.exitAll();
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
