import fc from 'fast-check';
import { bootMachine } from '@pagemesh/page-allocator';
import { Mmu, inprocPageAllocatorPort, type PagemapEntry } from '@pagemesh/mmu';
import { GFP } from '@pagemesh/page-allocator';
import { inprocMmuPort, inprocPagesPort } from './inproc-ports';
import * as M from './mman';
import { VmaManager } from './tasks/process-table';
import { handleFault } from './tasks/fault';

const PAGE = 4096;
/** 16 pages below a 2 MiB boundary: faults of one batch need a new PTE table halfway. */
const BASE = 0x7e00_0020_0000 - 16 * PAGE;
const WINDOW_PAGES = 50;
const RW = M.PROT_READ | M.PROT_WRITE;
const FIXED = M.MAP_FIXED_NOREPLACE | M.MAP_ANONYMOUS;

/** user read / write of a not-present page, write to a present read-only one, a fetch, a protection read */
const errorCode = fc.constantFrom(0x4, 0x4, 0x6, 0x6, 0x7, 0x7, 0x14, 0x5);
/** CR2 is any byte of the page */
const fault = fc.record({
  child: fc.boolean(),
  page: fc.nat({ max: WINDOW_PAGES - 1 }),
  offset: fc.constantFrom(0, 0, 1, 0xfff),
  errorCode,
});

/**
 * A process with private, shared, read-only and grows-down mappings and holes in a 50-page window:
 * [0, 24) private rw- across the 2 MiB boundary, [26, 32) shared rw-, [32, 36) private r--,
 * [44, 48) private rw- grows-down (with a hole below it to grow into).
 */
async function boot() {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 1 });
  const vm = await VmaManager.create({ mmu: inprocMmuPort(mmu), pages: inprocPagesPort(pa) });
  const pid = await vm.createProcess('p');
  const mmap = (page: number, pages: number, prot: number, flags: number) => ({
    pid,
    call: {
      kind: 'mmap' as const,
      addr: BASE + page * PAGE,
      length: pages * PAGE,
      prot,
      flags: flags | FIXED,
    },
  });
  const r = await vm.syscalls([
    mmap(0, 24, RW, M.MAP_PRIVATE),
    mmap(26, 6, RW, M.MAP_SHARED),
    mmap(32, 4, M.PROT_READ, M.MAP_PRIVATE),
    mmap(44, 4, RW, M.MAP_PRIVATE | M.MAP_GROWSDOWN),
  ]);
  for (const x of r) expect(x).not.toHaveProperty('errno');
  return { pa, mmu, vm, pid };
}

type Stack = Awaited<ReturnType<typeof boot>>;

/** Everything a user of the stack can see of the window, the allocator and the page tables. */
async function observe(s: Stack, pids: readonly number[]) {
  const out: unknown[] = [];
  for (const pid of pids) {
    const proc = s.vm.task(pid).mm;
    const asid = proc.asid;
    const entries: Omit<PagemapEntry, 'hi' | 'lo'>[] = await s.mmu.pagemap(asid, BASE, WINDOW_PAGES);
    out.push({
      pid,
      minflt: proc.minflt,
      rss: { ...proc.mm.rss },
      maps: await s.vm.procFile(pid, 'maps'),
      pages: entries.map((e) => [e.present, e.pfn, e.special, e.exclusive, e.dirty, e.accessed]),
      // page-table pages: where the PTE table of each 2 MiB half of the window is
      tables: [BASE, BASE + 16 * PAGE].map((va) => s.mmu.walk(asid, va).steps.map((st) => st.tablePfn)),
    });
  }
  out.push({ counters: s.pa.counters(), tablePages: s.mmu.tablePages() });
  return out;
}

describe('FaultBatch', () => {
  it('gives the outcomes, PFNs, page tables and counters of handling the faults one by one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fault, { maxLength: 12 }),
        fc.boolean(),
        fc.array(fault, { minLength: 1, maxLength: 40 }),
        async (before, fork, batch) => {
          const stacks = [await boot(), await boot()];
          const pids: number[][] = [];
          for (const s of stacks) {
            // the same history on both: faults one by one, maybe a fork (COW, shared shmem)
            const ps = [s.pid];
            for (const f of before)
              await s.vm.handleFaults([
                { pid: s.pid, address: BASE + f.page * PAGE, errorCode: f.errorCode },
              ]);
            if (fork) ps.push(await s.vm.fork(s.pid));
            pids.push(ps);
          }
          const requests = (ps: number[]) =>
            batch.map((f) => ({
              pid: f.child && ps.length > 1 ? ps[1] : ps[0],
              address: BASE + f.page * PAGE + f.offset,
              errorCode: f.errorCode,
            }));
          const batched = await stacks[0].vm.handleFaults(requests(pids[0]));
          const oneByOne = [];
          for (const r of requests(pids[1]))
            oneByOne.push(await handleFault(stacks[1].vm.task(r.pid).mm, r.address, r.errorCode));
          expect(batched).toEqual(oneByOne);
          expect(await observe(stacks[0], pids[0])).toEqual(await observe(stacks[1], pids[1]));
          // the allocators are in the same state: the next page they give is the same
          const next = stacks.map((s) => s.pa.allocPages(GFP.HIGHUSER_MOVABLE, 0));
          expect(next[0]).toBe(next[1]);
          for (const s of stacks) {
            s.pa.checkInvariants();
            s.mmu.checkInvariants();
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('handles write faults on fresh memory with one allocation and one map per PTE table, one rmap call', async () => {
    const s = await boot();
    const calls: string[] = [];
    const task = s.vm.task(s.pid).mm;
    const spy = <T extends object>(port: T, name: string): T =>
      new Proxy(port, {
        get(target, key, recv) {
          const v = Reflect.get(target, key, recv);
          return typeof v === 'function'
            ? (...args: unknown[]) => {
                calls.push(`${name}.${String(key)}`);
                return v.apply(target, args);
              }
            : v;
        },
      });
    Object.assign(task, {
      ports: { mmu: spy(task.ports.mmu, 'mmu'), pages: spy(task.ports.pages, 'pages') },
    });
    const faults = Array.from({ length: 24 }, (_, i) => ({
      pid: s.pid,
      address: BASE + i * PAGE,
      errorCode: 0x6,
    }));
    expect(await s.vm.handleFaults(faults)).toEqual(new Array(24).fill('handled'));
    // the first page needs a PTE table (a run of its own), the 16th the next one; the rmap of
    // every new page goes at the end, in one call
    expect(calls).toEqual([
      'pages.allocZeroedPages',
      'mmu.mapPages',
      'pages.allocZeroedPages',
      'mmu.mapPages',
      'pages.allocZeroedPages',
      'mmu.mapPages',
      'pages.addMapcounts',
    ]);
    expect(task.minflt).toBe(24);
    expect(task.mm.rss.anon).toBe(24);
  });
});
