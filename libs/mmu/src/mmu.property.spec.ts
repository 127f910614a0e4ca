import { bootMachine, GFP } from '@pagemesh/page-allocator';
import fc from 'fast-check';

import { accessCode, isPageFault, pageFaultCode, X86_PF_PROT } from './access';
import { FailedPreconditionError } from './errors';
import { inprocPageAllocatorPort } from './inproc-page-allocator-port';
import { KERNEL_ASID, Mmu } from './mmu';
import { PROT_X86, PROT_X86_64, pgprot, type Pgprot } from './paging/pte-bits';

/**
 * TLB coherence under random sequences: every access result must be exactly what a reference
 * model of the page tables allows (so no access ever succeeds through a stale translation),
 * the mmu's invariants hold after every step, and destroying everything gives back every frame.
 */

const protsOf = (P: typeof PROT_X86_64, nx: boolean): readonly Pgprot[] => [
  P.PAGE_SHARED,
  P.PAGE_READONLY,
  P.PAGE_READONLY_EXEC,
  P.PAGE_SHARED_EXEC,
  P.PAGE_NONE,
  pgprot(0x23, nx), // kernel-only: P|RW|A
];
const PAGES = 6;
/** Each profile's window straddles a PTE-table boundary so that tables get created and freed. */
const PROFILES = {
  x86_64: { prots: protsOf(PROT_X86_64, true), base: 0x7f0000200000 - 3 * 4096, hasNx: true },
  x86: { prots: protsOf(PROT_X86, false), base: 0x08400000 - 3 * 4096, hasNx: false },
} as const;
const PROTS_COUNT = 6;
const CPUS = 3;
const OPS = ['read', 'write', 'fetch'] as const;

type Cmd =
  | { t: 'map'; s: number; page: number; count: number; prot: number; replace: boolean; frame: number }
  | { t: 'unmap'; s: number; page: number; count: number }
  | { t: 'protect'; s: number; page: number; count: number; prot: number }
  | { t: 'switch'; cpu: number; s: number }
  | { t: 'access'; cpu: number; page: number; op: number; user: boolean }
  | { t: 'invlpg'; cpu: number; page: number }
  | { t: 'fork'; s: number; cow: boolean };

const page = fc.integer({ min: 0, max: PAGES - 1 });
const count = fc.integer({ min: 1, max: 4 });
const space = fc.integer({ min: 0, max: 1 });
const cpu = fc.integer({ min: 0, max: CPUS - 1 });
const protIdx = fc.integer({ min: 0, max: PROTS_COUNT - 1 });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('map' as const),
      s: space,
      page,
      count,
      prot: protIdx,
      replace: fc.boolean(),
      frame: fc.integer({ min: 0, max: 7 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('unmap' as const), s: space, page, count }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('protect' as const), s: space, page, count, prot: protIdx }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('switch' as const), cpu, s: space }) },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('access' as const),
      cpu,
      page,
      op: fc.integer({ min: 0, max: 2 }),
      user: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('invlpg' as const), cpu, page }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('fork' as const), s: space, cow: fc.boolean() }) },
);

/** What the page tables allow, from the model: physical address or page-fault error code. */
function expected(
  entry: { pfn: number; prot: Pgprot } | undefined,
  acc: number,
  va: number,
  hasNx: boolean,
): { pa?: number; code?: number } {
  if (!hasNx) acc &= ~0x10; // without NX a fetch is a read, and I/D is not reported
  if (!entry || (entry.prot.lo & 1) === 0) return { code: acc };
  const { lo, hi } = entry.prot;
  const denied = (acc & 4 && !(lo & 4)) || (acc & 2 && !(lo & 2)) || (acc & 0x10 && hi & 0x80000000);
  if (denied) return { code: acc | X86_PF_PROT };
  return { pa: entry.pfn * 4096 + (va % 4096) };
}

describe('TLB coherence (property)', () => {
  it('never lets an access through a translation the page tables no longer allow; no leaks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('x86_64' as const, 'x86' as const),
        fc.boolean(),
        fc.array(cmd, { minLength: 1, maxLength: 60, size: 'max' }),
        async (arch, pcid, cmds) => {
          const { prots: PROTS, base: BASE, hasNx } = PROFILES[arch];
          const pa = bootMachine({ arch, memBytes: 32 * 2 ** 20 });
          const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), {
            cpus: CPUS,
            pcid,
            tlb: { small: { entries: 8, ways: 2 } },
          });
          const free0 = pa.nrFreePages; // init_mm's tables stay
          const asids = [await mmu.createAddressSpace(), await mmu.createAddressSpace()];
          const frames = pa.allocPagesBulk(GFP.KERNEL, 0, 16);
          const model = asids.map(() => new Map<number, { pfn: number; prot: Pgprot }>());
          const current = Array.from({ length: CPUS }, (_, i) => i % 2);
          current.forEach((s, i) => mmu.switchTo(i, asids[s]));
          for (const c of cmds) {
            if (c.t === 'map') {
              const n = Math.min(c.count, PAGES - c.page);
              const m = model[c.s];
              const clash = Array.from({ length: n }, (_, i) => m.has(c.page + i)).some(Boolean);
              const pfns = Array.from({ length: n }, (_, i) => frames[(c.frame + i) % frames.length]);
              const run = mmu.mapPages(asids[c.s], BASE + c.page * 4096, pfns, PROTS[c.prot], {
                replace: c.replace,
              });
              if (clash && !c.replace) {
                await expect(run).rejects.toBeInstanceOf(FailedPreconditionError);
              } else {
                await run;
                pfns.forEach((pfn, i) => m.set(c.page + i, { pfn, prot: PROTS[c.prot] }));
              }
            } else if (c.t === 'unmap') {
              const n = Math.min(c.count, PAGES - c.page);
              const removed = await mmu.unmapPages(asids[c.s], BASE + c.page * 4096, n);
              const want = Array.from({ length: n }, (_, i) => c.page + i).filter((p) => model[c.s].has(p));
              expect(removed.map((r) => r.pfn)).toEqual(want.map((p) => model[c.s].get(p)?.pfn));
              for (const p of want) model[c.s].delete(p);
            } else if (c.t === 'protect') {
              const n = Math.min(c.count, PAGES - c.page);
              await mmu.protectPages(asids[c.s], BASE + c.page * 4096, n, PROTS[c.prot]);
              for (let p = c.page; p < c.page + n; p++) {
                const e = model[c.s].get(p);
                if (e) e.prot = PROTS[c.prot];
              }
            } else if (c.t === 'switch') {
              mmu.switchTo(c.cpu, asids[c.s]);
              current[c.cpu] = c.s;
            } else if (c.t === 'fork') {
              // copy the whole window of space s into the other one, as fork copies a VMA
              const [from, to] = [model[c.s], model[1 - c.s]];
              const clash = [...from.keys()].some((p) => to.has(p));
              const run = mmu.copyPageRange(asids[c.s], asids[1 - c.s], BASE, PAGES, {
                cow: c.cow,
                shared: !c.cow,
              });
              if (clash) {
                await expect(run).rejects.toBeInstanceOf(FailedPreconditionError);
              } else {
                const copied = await run;
                expect(copied.map((e) => e.pfn)).toEqual(
                  [...from.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => e.pfn),
                );
                for (const [p, e] of from) {
                  if (c.cow) e.prot = pgprot(e.prot.lo & ~0x2, false, e.prot.hi);
                  to.set(p, { pfn: e.pfn, prot: e.prot });
                }
              }
            } else if (c.t === 'invlpg') {
              mmu.invlpg(c.cpu, BASE + c.page * 4096);
            } else {
              const va = BASE + c.page * 4096 + 8;
              const acc = accessCode(OPS[c.op], c.user);
              const r = mmu.translate(c.cpu, va, acc);
              const want = expected(model[current[c.cpu]].get(c.page), acc, va, hasNx);
              if (want.pa !== undefined) expect(r).toBe(want.pa);
              else {
                expect(isPageFault(r)).toBe(true);
                expect(pageFaultCode(r)).toBe(want.code);
              }
            }
            mmu.checkInvariants();
          }
          for (let i = 0; i < CPUS; i++) mmu.switchTo(i, KERNEL_ASID);
          for (const a of asids) await mmu.destroyAddressSpace(a);
          pa.freePagesBulk(frames, 0);
          expect(pa.nrFreePages).toBe(free0);
          mmu.checkInvariants();
        },
      ),
      { numRuns: Number(process.env.MMU_PROPERTY_RUNS ?? 60) },
    );
  });
});
