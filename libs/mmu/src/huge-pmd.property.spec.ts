import { bootMachine, GFP } from '@pagemesh/page-allocator';
import fc from 'fast-check';

import { accessCode, isPageFault, pageFaultCode, X86_PF_PROT } from './access';
import { FailedPreconditionError } from './errors';
import { inprocPageAllocatorPort } from './inproc-page-allocator-port';
import { KERNEL_ASID, Mmu } from './mmu';
import { PROT_X86_64, type Pgprot } from './paging/pte-bits';

/**
 * Huge PMD leaves mixed with 4 KiB pages under random sequences: every access gives what a
 * reference model of the mappings allows (no stale 2 MiB or 4 KiB translation survives a split,
 * zap or protection change), a range covering part of a huge PMD is refused and changes
 * nothing, the invariants hold after every step, and destroying everything gives every frame back.
 */

const P = PROT_X86_64;
const PROTS: readonly Pgprot[] = [P.PAGE_SHARED, P.PAGE_READONLY, P.PAGE_SHARED_EXEC, P.PAGE_NONE];
/** Two PMD spans, the first 2 MiB aligned. */
const BASE = 0x7e0000000000;
const SPAN = 512;
const PAGES = 2 * SPAN;
const CPUS = 2;
const OPS = ['read', 'write', 'fetch'] as const;

type Cmd =
  | { t: 'huge'; pmd: number; prot: number; replace: boolean; folio: number }
  | { t: 'split'; pmd: number }
  | { t: 'map'; page: number; prot: number; frame: number }
  | { t: 'unmap'; page: number; count: number }
  | { t: 'protect'; page: number; count: number; prot: number }
  | { t: 'access'; cpu: number; page: number; op: number; user: boolean };

const pmd = fc.integer({ min: 0, max: 1 });
const page = fc.oneof(
  fc.integer({ min: 0, max: PAGES - 1 }),
  fc.constantFrom(0, SPAN - 1, SPAN, SPAN + 1, PAGES - 1),
);
const count = fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constantFrom(SPAN, PAGES));
const prot = fc.integer({ min: 0, max: PROTS.length - 1 });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('huge' as const),
      pmd,
      prot,
      replace: fc.boolean(),
      folio: fc.integer({ min: 0, max: 1 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('split' as const), pmd }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('map' as const), page, prot, frame: fc.nat({ max: 7 }) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('unmap' as const), page, count }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('protect' as const), page, count, prot }) },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('access' as const),
      cpu: fc.integer({ min: 0, max: CPUS - 1 }),
      page,
      op: fc.integer({ min: 0, max: 2 }),
      user: fc.boolean(),
    }),
  },
);

interface Entry {
  pfn: number;
  prot: Pgprot;
}

describe('huge PMD leaves (property)', () => {
  it('accesses follow the model through maps, splits, zaps and protection changes; no leaks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(cmd, { minLength: 1, maxLength: 40 }), async (pcid, cmds) => {
        const pa = bootMachine({ arch: 'x86_64', memBytes: 32 * 2 ** 20 });
        const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), {
          cpus: CPUS,
          pcid,
          tlb: { small: { entries: 8, ways: 2 }, large: { entries: 4, ways: 2 } },
        });
        const free0 = pa.nrFreePages;
        const asid = await mmu.createAddressSpace();
        for (let c = 0; c < CPUS; c++) mmu.switchTo(c, asid);
        const folios = [pa.allocPages(GFP.KERNEL | GFP.COMP, 9), pa.allocPages(GFP.KERNEL | GFP.COMP, 9)];
        const frames = pa.allocPagesBulk(GFP.KERNEL, 0, 8);
        const model = new Map<number, Entry>();
        /** the PMD spans mapped by a huge leaf */
        const huge = new Set<number>();
        /** whether [first, first + n) covers part of a huge span */
        const partial = (first: number, n: number) =>
          [...huge].some(
            (h) =>
              first < (h + 1) * SPAN &&
              first + n > h * SPAN &&
              (first > h * SPAN || first + n < (h + 1) * SPAN),
          );
        for (const c of cmds) {
          if (c.t === 'huge') {
            const first = c.pmd * SPAN;
            const ptes = !huge.has(c.pmd) && [...model.keys()].some((p) => p >= first && p < first + SPAN);
            const run = mmu.mapHugePmd(asid, BASE + first * 4096, folios[c.folio] as number, PROTS[c.prot], {
              replace: c.replace,
            });
            if (ptes || (huge.has(c.pmd) && !c.replace)) {
              await expect(run).rejects.toBeInstanceOf(FailedPreconditionError);
            } else {
              await run;
              huge.add(c.pmd);
              for (let i = 0; i < SPAN; i++)
                model.set(first + i, { pfn: (folios[c.folio] as number) + i, prot: PROTS[c.prot] });
            }
          } else if (c.t === 'split') {
            const run = mmu.splitHugePmd(asid, BASE + c.pmd * SPAN * 4096);
            if (!huge.has(c.pmd)) await expect(run).rejects.toBeInstanceOf(FailedPreconditionError);
            else {
              await run;
              huge.delete(c.pmd);
            }
          } else if (c.t === 'map') {
            const run = mmu.mapPages(asid, BASE + c.page * 4096, [frames[c.frame]], PROTS[c.prot], {
              replace: true,
            });
            if (huge.has(Math.floor(c.page / SPAN))) {
              await expect(run).rejects.toBeInstanceOf(FailedPreconditionError);
            } else {
              await run;
              model.set(c.page, { pfn: frames[c.frame], prot: PROTS[c.prot] });
            }
          } else if (c.t === 'unmap' || c.t === 'protect') {
            const n = Math.min(c.count, PAGES - c.page);
            const va = BASE + c.page * 4096;
            const run =
              c.t === 'unmap' ? mmu.unmapPages(asid, va, n) : mmu.protectPages(asid, va, n, PROTS[c.prot]);
            if (partial(c.page, n)) {
              await expect(run).rejects.toBeInstanceOf(FailedPreconditionError);
            } else {
              await run;
              for (let p = c.page; p < c.page + n; p++) {
                const e = model.get(p);
                if (!e) continue;
                if (c.t === 'unmap') model.delete(p);
                else e.prot = PROTS[c.prot];
              }
              if (c.t === 'unmap')
                for (const h of [...huge])
                  if (c.page <= h * SPAN && c.page + n >= (h + 1) * SPAN) huge.delete(h);
            }
          } else {
            const va = BASE + c.page * 4096 + 8;
            const acc = accessCode(OPS[c.op], c.user);
            const r = mmu.translate(c.cpu, va, acc);
            const e = model.get(c.page);
            const lo = e?.prot.lo ?? 0;
            if (!e || (lo & 1) === 0) {
              expect(isPageFault(r)).toBe(true);
              expect(pageFaultCode(r)).toBe(acc);
            } else if (
              (acc & 4 && !(lo & 4)) ||
              (acc & 2 && !(lo & 2)) ||
              (acc & 0x10 && e.prot.hi & 0x80000000)
            ) {
              expect(pageFaultCode(r)).toBe(acc | X86_PF_PROT);
            } else {
              expect(r).toBe(e.pfn * 4096 + 8);
            }
          }
          mmu.checkInvariants();
        }
        for (let c = 0; c < CPUS; c++) mmu.switchTo(c, KERNEL_ASID);
        await mmu.destroyAddressSpace(asid);
        pa.freePagesBulk(frames, 0);
        for (const f of folios) pa.freePages(f as number, 9);
        expect(pa.nrFreePages).toBe(free0);
        mmu.checkInvariants();
      }),
      { numRuns: Number(process.env.MMU_PROPERTY_RUNS ?? 60) },
    );
  });
});
