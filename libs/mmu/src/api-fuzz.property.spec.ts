import fc from 'fast-check';

import { MmuError } from './errors';
import { KERNEL_ASID, Mmu } from './mmu';
import { PROT_X86_64 } from './paging/pte-bits';
import { FakePageAllocatorPort } from './testing/fake-page-allocator-port';

/**
 * Bad input gets a typed error and changes nothing: random calls with valid and junk arguments
 * either succeed or throw an MmuError (never a TypeError or a RangeError from deep inside), and a
 * refused call leaves the tables, the frames and the vmalloc areas as they were.
 */

const junkNumber = fc.oneof(
  fc.constant(Number.NaN),
  fc.constant(-1),
  fc.constant(0.5),
  fc.constant(2 ** 60),
  fc.constant(Number.POSITIVE_INFINITY),
  fc.constant('12' as unknown as number),
  fc.constant(undefined as unknown as number),
);
const address = fc.oneof(
  fc.constantFrom(0x400000, 0x7f0000000000, 0x7ffffffff000, 0xc90000000000, 0x888000000000),
  fc.integer({ min: 0, max: 2 ** 47 - 1 }),
  junkNumber,
);
const small = fc.oneof(fc.integer({ min: 0, max: 8 }), junkNumber);
const prot = fc.oneof(
  fc.constantFrom(
    PROT_X86_64.PAGE_SHARED,
    PROT_X86_64.PAGE_READONLY,
    PROT_X86_64.PAGE_NONE,
    PROT_X86_64.PAGE_KERNEL,
  ),
  fc.record({
    lo: fc.integer({ min: -5, max: 0x2000 }),
    hi: fc.constantFrom(0, 1, 0x80000000, 0x40000000, -1),
  }),
  fc.constant(null as unknown as { lo: number; hi: number }),
);
const pfns = fc.oneof(
  fc.array(fc.oneof(fc.integer({ min: 0, max: 20000 }), junkNumber), { minLength: 0, maxLength: 3 }),
  fc.record({ first: fc.oneof(fc.integer({ min: 0, max: 20000 }), junkNumber), count: small }),
);

type Call = (mmu: Mmu, asid: number) => unknown;
const call: fc.Arbitrary<Call> = fc.oneof(
  fc.tuple(small, address, pfns, prot, fc.boolean()).map(
    ([a, va, p, pr, replace]) =>
      (m: Mmu, asid: number) =>
        m.mapPages(a === 1 ? asid : a, va, p, pr, { replace }),
  ),
  fc.tuple(small, address, small).map(
    ([a, va, n]) =>
      (m: Mmu, asid: number) =>
        m.unmapPages(a === 1 ? asid : a, va, n),
  ),
  fc.tuple(small, address, small, prot).map(
    ([a, va, n, pr]) =>
      (m: Mmu, asid: number) =>
        m.protectPages(a === 1 ? asid : a, va, n, pr),
  ),
  fc.tuple(small, address, small, small, address).map(
    ([a, addr, pfn, size, start]) =>
      (m: Mmu, asid: number) =>
        m.remapPfnRange(
          a === 1 ? asid : a,
          { start, end: start + 8192, flags: 0xfb, pgoff: 0 },
          addr,
          pfn * 100,
          size * 1000,
          PROT_X86_64.PAGE_SHARED,
        ),
  ),
  small.map((n) => (m: Mmu) => m.vmalloc(n * 5000)),
  address.map((a) => (m: Mmu) => m.vfree(a)),
  fc.oneof(fc.integer({ min: 0, max: 20000 }), junkNumber).map((pfn) => (m: Mmu) => m.kmap(pfn)),
  fc.tuple(small, small).map(
    ([cpu, a]) =>
      (m: Mmu, asid: number) =>
        m.switchTo(cpu, a === 1 ? asid : a),
  ),
  fc.tuple(small, address).map(
    ([a, va]) =>
      (m: Mmu, asid: number) =>
        m.walk(a === 1 ? asid : a, va),
  ),
  fc.tuple(small, address, small).map(
    ([a, va, n]) =>
      (m: Mmu, asid: number) =>
        m.pagemap(a === 1 ? asid : a, va, n),
  ),
  fc.tuple(small, address, small, fc.constantFrom('read', 'write', 'fetch', 'poke')).map(
    ([cpu, va, n, op]) =>
      (m: Mmu) =>
        m.accessBatch([
          {
            cpu,
            va,
            op,
            user: true,
            length: n,
            data: op === 'write' ? new Uint8Array(Number.isInteger(n) && n > 0 && n < 64 ? n : 1) : undefined,
          } as never,
        ]),
  ),
  small.map((a) => (m: Mmu) => m.destroyAddressSpace(a)),
  fc.tuple(small, small, address, small, fc.boolean()).map(
    ([a, b, va, n, cow]) =>
      (m: Mmu, asid: number) =>
        m.copyPageRange(a === 1 ? asid : a, b, va, n, { cow, shared: !cow }),
  ),
);

function fingerprint(mmu: Mmu, port: FakePageAllocatorPort, asid: number): string {
  const walks = [0x400000, 0x7f0000000000, 0x7ffffffff000]
    .filter(() => mmu.hasAddressSpace(asid))
    .map((va) =>
      mmu
        .walk(asid, va)
        .steps.map((s) => s.entry)
        .join(','),
    );
  return JSON.stringify([mmu.tablePages(), port.used, mmu.procVmallocinfo(), walks]);
}

describe('API fuzz (property)', () => {
  it('refuses bad input with a typed error and changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 30, size: 'max' }), async (calls) => {
        const port = new FakePageAllocatorPort('x86_64', 64 * 2 ** 20);
        const mmu = await Mmu.boot(port, { cpus: 2 });
        const asid = await mmu.createAddressSpace();
        for (const c of calls) {
          const before = fingerprint(mmu, port, asid);
          try {
            await c(mmu, asid);
          } catch (e) {
            if (!(e instanceof MmuError)) throw e;
            expect(e.field).toEqual(expect.any(String));
            expect(fingerprint(mmu, port, asid)).toBe(before);
          }
          mmu.checkInvariants();
        }
        for (let cpu = 0; cpu < 2; cpu++) mmu.switchTo(cpu, KERNEL_ASID);
      }),
      { numRuns: Number(process.env.MMU_PROPERTY_RUNS ?? 100) },
    );
  });
});
