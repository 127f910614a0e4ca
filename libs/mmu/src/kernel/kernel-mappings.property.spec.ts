import { bootMachine } from '@pagemesh/page-allocator';
import fc from 'fast-check';

import { isPageFault } from '../access';
import { inprocPageAllocatorPort } from '../inproc-page-allocator-port';
import { Mmu } from '../mmu';

/**
 * Kernel mappings on the x86 highmem machine under random vmalloc/vfree/kmap/kunmap/kmap_local
 * sequences, with kernel accesses from several CPUs: every access through an address the
 * model says is mapped reaches the right frame, every other one faults, and the invariants
 * (TLB coherence included) hold after each step.
 */

type Cmd =
  | { t: 'vmalloc'; pages: number }
  | { t: 'vfree'; pick: number }
  | { t: 'kmap'; page: number }
  | { t: 'kunmap'; page: number }
  | { t: 'kmapLocal'; cpu: number; page: number }
  | { t: 'kunmapLocal'; cpu: number }
  | { t: 'touch'; cpu: number; pick: number; offset: number };

const CPUS = 2;
const HIGH = 0x38000; // first highmem PFN on a 1 GiB machine (896 MiB of lowmem)
const cpu = fc.integer({ min: 0, max: CPUS - 1 });
const page = fc.integer({ min: 0, max: 5 });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('vmalloc' as const), pages: fc.integer({ min: 1, max: 40 }) }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('vfree' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('kmap' as const), page }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('kunmap' as const), page }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('kmapLocal' as const), cpu, page }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('kunmapLocal' as const), cpu }) },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('touch' as const),
      cpu,
      pick: fc.nat(),
      offset: fc.nat({ max: 39 }),
    }),
  },
);

describe('kernel mappings (property, x86 highmem)', () => {
  it('keeps every kernel mapping coherent across CPUs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 50, size: 'max' }), async (cmds) => {
        const pa = bootMachine({ arch: 'x86', memBytes: 2 ** 30 });
        const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), {
          cpus: CPUS,
          tlb: { small: { entries: 8, ways: 2 } },
        });
        const free0 = pa.nrFreePages;
        const tables0 = mmu.tablePages();
        /** Mapped kernel pages: va -> pfn (what the tables should say). */
        const mapped = new Map<number, number>();
        /** Addresses that were mapped once and are not now. */
        const gone = new Set<number>();
        const areas: { addr: number; pages: number }[] = [];
        const kmapCount = new Map<number, number>();
        const locals: { va: number; pfn: number }[][] = Array.from({ length: CPUS }, () => []);
        const addrs = () => [...mapped.keys(), ...gone];
        for (const c of cmds) {
          if (c.t === 'vmalloc') {
            const addr = await mmu.vmalloc(c.pages * 4096);
            if (addr === null) continue;
            areas.push({ addr, pages: c.pages });
            for (let i = 0; i < c.pages; i++) {
              mapped.set(addr + i * 4096, mmu.vmallocToPfn(addr + i * 4096) as number);
              gone.delete(addr + i * 4096);
            }
          } else if (c.t === 'vfree') {
            if (areas.length === 0) continue;
            const [a] = areas.splice(c.pick % areas.length, 1);
            await mmu.vfree(a.addr);
            for (let i = 0; i < a.pages; i++) {
              mapped.delete(a.addr + i * 4096);
              gone.add(a.addr + i * 4096);
            }
          } else if (c.t === 'kmap') {
            const va = await mmu.kmap(HIGH + c.page);
            kmapCount.set(c.page, (kmapCount.get(c.page) ?? 0) + 1);
            mapped.set(va, HIGH + c.page);
            gone.delete(va);
          } else if (c.t === 'kunmap') {
            if (!kmapCount.get(c.page)) continue;
            await mmu.kunmap(HIGH + c.page);
            kmapCount.set(c.page, (kmapCount.get(c.page) as number) - 1);
            // the PKMAP entry stays until the lazy flush: page_address tells where it still is
          } else if (c.t === 'kmapLocal') {
            if (locals[c.cpu].length >= 16) continue;
            const va = await mmu.kmapLocal(c.cpu, HIGH + 100 + c.page);
            locals[c.cpu].push({ va, pfn: HIGH + 100 + c.page });
            mapped.set(va, HIGH + 100 + c.page);
            gone.delete(va);
          } else if (c.t === 'kunmapLocal') {
            const top = locals[c.cpu].pop();
            if (!top) continue;
            await mmu.kunmapLocal(c.cpu, top.va);
            mapped.delete(top.va);
            gone.add(top.va);
          } else {
            const all = addrs();
            if (all.length === 0) continue;
            const va = all[c.pick % all.length];
            const r = mmu.translate(c.cpu, va + c.offset, 0);
            const pfn = mapped.get(va) ?? mmu.walk(0, va).pfn;
            if (pfn !== undefined) expect(r).toBe(pfn * 4096 + c.offset);
            else expect(isPageFault(r)).toBe(true);
          }
          // PKMAP slots released by a lazy flush are no longer mapped: take the tables' word for them
          for (const [va] of mapped)
            if (va >= 0xff800000 && va < 0xffc00000 && !mmu.walk(0, va).present) mapped.delete(va);
          mmu.checkInvariants();
        }
        for (const a of areas) await mmu.vfree(a.addr);
        // vmalloc page tables stay once created, as in Linux; everything else came back
        expect(pa.nrFreePages).toBe(free0 - (mmu.tablePages() - tables0));
      }),
      { numRuns: Number(process.env.MMU_PROPERTY_RUNS ?? 40) },
    );
  });
});
