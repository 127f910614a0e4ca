import fc from 'fast-check';
import { bootMachine } from '@pagemesh/page-allocator';
import { Mmu, inprocPageAllocatorPort } from '@pagemesh/mmu';
import { inprocMmuPort, inprocPagesPort } from '../inproc-ports';
import type { MmuPort } from '../ports';
import * as M from '../mman';
import { VmaManager } from './process-table';
import type { Syscall } from './syscall';

const PAGE = 4096;
/** A window of 64 pages across a 2 MiB boundary: unmaps empty PTE tables and share them. */
const BASE = 0x7e00_0020_0000 - 32 * PAGE;
const WINDOW_PAGES = 64;

const addr = fc.nat({ max: WINDOW_PAGES - 1 }).map((p) => BASE + p * PAGE);
const len = fc.integer({ min: 1, max: 40 }).map((n) => n * PAGE);
const prot = fc.constantFrom(M.PROT_NONE, M.PROT_READ, M.PROT_READ | M.PROT_WRITE);
const flags = fc
  .tuple(fc.constantFrom(M.MAP_PRIVATE, M.MAP_PRIVATE, M.MAP_SHARED), fc.constantFrom(0, 0, M.MAP_POPULATE))
  .map(([type, extra]) => type | extra | M.MAP_ANONYMOUS | M.MAP_FIXED);
const syscall: fc.Arbitrary<Syscall> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('mmap' as const), addr, length: len, prot, flags }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('munmap' as const), addr, length: len }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mprotect' as const), addr, length: len, prot }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('madvise' as const),
      addr,
      length: len,
      advice: fc.constantFrom(M.MADV_DONTNEED, M.MADV_FREE, M.MADV_POPULATE_WRITE),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('mremap' as const),
      oldAddr: addr,
      oldLength: len,
      newLength: len,
      flags: fc.constant(M.MREMAP_MAYMOVE | M.MREMAP_FIXED),
      newAddr: addr,
    }),
  },
);
/** A batch of syscalls, then write faults on some pages (so that the next unmaps find pages). */
const round = fc.record({
  calls: fc.array(syscall, { minLength: 1, maxLength: 8 }),
  faults: fc.array(fc.nat({ max: WINDOW_PAGES - 1 }), { maxLength: 20 }),
});

async function boot(countUnmaps = false, mergeUnmaps = true) {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 1 });
  const port: MmuPort = inprocMmuPort(mmu);
  const counted = { unmapCalls: 0 };
  const unmapRanges = port.unmapRanges.bind(port);
  if (countUnmaps)
    port.unmapRanges = (asid, ranges) => {
      counted.unmapCalls += 1;
      return unmapRanges(asid, ranges);
    };
  const vm = await VmaManager.create({ mmu: port, pages: inprocPagesPort(pa) }, { mergeUnmaps });
  const pid = await vm.createProcess('p');
  // a second process, whose calls interleave with the first's in a batch
  const other = await vm.createProcess('q');
  return { pa, mmu, vm, pid, other, counted };
}

describe('VmaManager syscall batches', () => {
  // Merged unmaps (an option, off by default) keep results, pages, page tables, RSS and the
  // allocator's counts, but not always the order in which freed pages go back to the buddy lists:
  // the PFNs handed out afterwards are not compared.
  it('give what the batch gives with each unmap on its own: results, pages, page tables, allocator counts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(round, { minLength: 1, maxLength: 5 }), fc.boolean(), async (rounds, mix) => {
        const [batched, single] = [await boot(), await boot(false, false)];
        for (const r of rounds) {
          // with `mix`, every other call is the second process's (the batch is cut there)
          const who = (s: typeof batched, i: number) => (mix && i % 2 ? s.other : s.pid);
          const a = await batched.vm.syscalls(r.calls.map((call, i) => ({ pid: who(batched, i), call })));
          const b = await single.vm.syscalls(r.calls.map((call, i) => ({ pid: who(single, i), call })));
          expect(a).toEqual(b);
          for (const s of [batched, single])
            await s.vm.handleFaults(
              r.faults.map((p) => ({ pid: s.pid, address: BASE + p * PAGE, errorCode: 0x6 })),
            );
        }
        const observe = async (s: typeof batched) => ({
          // which PFN a later fault got follows the free order (see above): presence and bits only
          pages: (await s.mmu.pagemap(s.vm.task(s.pid).mm.asid, BASE, WINDOW_PAGES)).map((e) => [
            e.present,
            e.pfn === null,
            e.dirty,
          ]),
          rss: [s.vm.task(s.pid).mm.mm.rss, s.vm.task(s.other).mm.mm.rss],
          counters: s.pa.counters(),
          tablePages: s.mmu.tablePages(),
        });
        expect(await observe(batched)).toEqual(await observe(single));
      }),
      { numRuns: 200 },
    );
  });

  it('sends the unmaps of a batch in one call, and none for ranges with nothing mapped', async () => {
    const s = await boot(true);
    const fixed = M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_FIXED;
    const rw = M.PROT_READ | M.PROT_WRITE;
    await s.vm.syscalls([
      { pid: s.pid, call: { kind: 'mmap', addr: BASE, length: 8 * PAGE, prot: rw, flags: fixed } },
    ]);
    await s.vm.handleFaults(
      [0, 2, 4, 6].map((p) => ({ pid: s.pid, address: BASE + p * PAGE, errorCode: 0x6 })),
    );
    const munmap = (page: number): Syscall => ({ kind: 'munmap', addr: BASE + page * PAGE, length: PAGE });
    const asid = s.vm.task(s.pid).mm.asid;
    const tables = s.mmu.tablePages(asid);
    // pages 1 and 3 have nothing mapped; 0, 2 and 4 go down together; 6 keeps the PTE table
    await s.vm.syscalls([1, 0, 3, 2, 4].map((p) => ({ pid: s.pid, call: munmap(p) })));
    expect(s.counted.unmapCalls).toBe(1);
    expect(s.vm.task(s.pid).mm.mm.rss.anon).toBe(1);
    expect(s.mmu.tablePages(asid)).toBe(tables);
    // the last page empties the table: sent on its own, after what waited before it
    await s.vm.syscalls([0, 6].map((p) => ({ pid: s.pid, call: munmap(p) })));
    expect(s.counted.unmapCalls).toBe(2);
    expect(s.mmu.tablePages(asid)).toBe(1);
  });
});
