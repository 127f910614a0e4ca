import fc from 'fast-check';
import { bootMachine } from '@pagemesh/page-allocator';
import { Mmu, inprocPageAllocatorPort } from '@pagemesh/mmu';
import { inprocMmuPort, inprocPagesPort } from '../inproc-ports';
import * as M from '../mman';
import { VM_ACCOUNT, hasAny } from '../vm-flags';
import { checkMmInvariants } from '../vma-invariants';
import { VmaManager } from './process-table';
import type { Syscall } from './syscall';

/** A 32-page window keeps the random calls and faults colliding with each other. */
const BASE = 0x7e00_0000_0000;
const WINDOW_PAGES = 32;

const addr = fc.integer({ min: 0, max: WINDOW_PAGES - 1 }).map((p) => BASE + p * 4096);
const len = fc.integer({ min: 1, max: 12 }).map((n) => n * 4096);
const prot = fc.constantFrom(M.PROT_NONE, M.PROT_READ, M.PROT_READ | M.PROT_WRITE, 7);
const mapFlags = fc
  .tuple(
    fc.constantFrom(M.MAP_PRIVATE, M.MAP_PRIVATE, M.MAP_SHARED),
    fc.constantFrom(M.MAP_FIXED, M.MAP_FIXED_NOREPLACE),
    fc.constantFrom(0, 0, 0, M.MAP_POPULATE, M.MAP_GROWSDOWN, M.MAP_NORESERVE),
  )
  .map(([type, place, extra]) => type | M.MAP_ANONYMOUS | place | extra);
const advice = fc.constantFrom(
  M.MADV_DONTNEED,
  M.MADV_FREE,
  M.MADV_DONTFORK,
  M.MADV_DOFORK,
  M.MADV_WIPEONFORK,
  M.MADV_POPULATE_WRITE,
  M.MADV_NORMAL,
);

const syscall: fc.Arbitrary<Syscall> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('mmap' as const), addr, length: len, prot, flags: mapFlags }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('munmap' as const), addr, length: len }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('mprotect' as const), addr, length: len, prot }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('mremap' as const),
      oldAddr: addr,
      oldLength: len,
      newLength: len,
      flags: fc.constantFrom(0, M.MREMAP_MAYMOVE, M.MREMAP_MAYMOVE | M.MREMAP_FIXED),
      newAddr: addr,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('madvise' as const), addr, length: len, advice }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constantFrom('mlock' as const, 'munlock' as const), addr, length: len }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mseal' as const), addr, length: len }) },
);

/** Not-present read and write, write to a present page, read of a present page, fetches. */
const errorCode = fc.constantFrom(0x4, 0x6, 0x7, 0x5, 0x14, 0x15);

/** `who` picks among the live processes (modulo their number). */
type Step =
  | { op: 'create' }
  | { op: 'syscalls'; who: number; calls: Syscall[] }
  | { op: 'faults'; who: number; faults: { page: number; errorCode: number }[] }
  | { op: 'fork'; who: number }
  | { op: 'exit'; who: number };

const who = fc.nat({ max: 7 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ op: 'create' as const }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('syscalls' as const),
      who,
      calls: fc.array(syscall, { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('faults' as const),
      who,
      faults: fc.array(fc.record({ page: fc.nat({ max: WINDOW_PAGES + 3 }), errorCode }), {
        minLength: 1,
        maxLength: 6,
      }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fork' as const), who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('exit' as const), who }) },
);

describe('VmaManager under random syscalls, faults, forks and exits', () => {
  it('keeps every mm sorted and disjoint, the allocator and mmu consistent, and leaks nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
        const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 1 });
        const vm = await VmaManager.create({ mmu: inprocMmuPort(mmu), pages: inprocPagesPort(pa) });
        const free = pa.nrFreePages;

        const check = () => {
          let accounted = 0;
          for (const t of vm.processes()) {
            // vm_committed_as is machine-wide: checked below over every process at once
            const broken = checkMmInvariants(t.mm.mm, false);
            if (broken !== null && !broken.startsWith('committed'))
              throw new Error(`pid ${t.pid}: ${broken}`);
            for (const v of t.mm.mm.vmas.all()) if (hasAny(v.vmFlags, VM_ACCOUNT)) accounted += v.pages;
          }
          expect(vm.machine.committedPages).toBe(accounted);
          pa.checkInvariants();
          mmu.checkInvariants();
        };

        for (const s of steps) {
          const live = vm.processes();
          if (s.op === 'create' || live.length === 0) {
            await vm.createProcess('p');
          } else {
            const pid = live[s.who % live.length].pid;
            switch (s.op) {
              case 'syscalls':
                await vm.syscalls(s.calls.map((call) => ({ pid, call })));
                break;
              case 'faults':
                await vm.handleFaults(
                  s.faults.map((f) => ({ pid, address: BASE + f.page * 4096, errorCode: f.errorCode })),
                );
                break;
              case 'fork':
                await vm.fork(pid);
                break;
              case 'exit':
                await vm.exitProcess(pid);
                break;
            }
          }
          check();
        }
        for (const t of vm.processes()) await vm.exitProcess(t.pid);
        check();
        expect(vm.shmemObjects).toBe(0);
        expect(vm.machine.committedPages).toBe(0);
        expect(pa.nrFreePages).toBe(free);
      }),
      { numRuns: 60 },
    );
  });
});
