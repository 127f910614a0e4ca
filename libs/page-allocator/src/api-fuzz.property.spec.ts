import fc from 'fast-check';
import { bootMachine } from './page-allocator';
import { DomainError } from './errors';
import { GFP } from './gfp';

/** Any value a careless or hostile caller (or a decoded rpc message) could pass. */
const junk = fc.oneof(
  fc.integer({ min: -5, max: 5000 }),
  fc.constantFrom(NaN, Infinity, -Infinity, 1.5, -0, 2 ** 31, 2 ** 53, 0x888000000000, 16, 0xcc0, 11),
  fc.string({ maxLength: 4 }),
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(Uint8Array.of(1, 2, 3)),
  fc.array(
    fc.oneof(
      fc.integer({ min: -2, max: 5000 }),
      fc.constant(null),
      fc.record({ paddr: fc.integer({ min: -2, max: 2 ** 25 }), length: fc.integer({ min: -2, max: 5000 }) }),
      fc.record({
        paddr: fc.integer({ min: -2, max: 2 ** 25 }),
        bytes: fc.constantFrom(Uint8Array.of(7), 'x'),
      }),
    ),
    { maxLength: 3 },
  ),
);

const calls = [
  'allocPages',
  'allocPagesBulk',
  'freePages',
  'freePagesBulk',
  'getPage',
  'putPage',
  'pageCount',
  'pageMapcountInc',
  'pageMapcountDec',
  'setPageFlag',
  'clearPageFlag',
  'testPageFlag',
  'setPageType',
  'clearPageType',
  'setPageMapping',
  'splitPage',
  'readPhys',
  'writePhys',
  'readPhysBatch',
  'writePhysBatch',
  'zeroPhys',
  'clearPages',
  'clearPage',
  'copyPage',
  'kmalloc',
  'kfree',
  'ksize',
  'virtToPhys',
  'physToVirt',
  'pageAddress',
  'kpageflags',
  'changePageRefs',
  'addVmallocPages',
  'freeReservedPage',
  'countVmEvent',
  'setPageFlags',
  'virtToPfns',
] as const;

describe('API misuse', () => {
  it('answers any argument with a result or a DomainError, and keeps the invariants', () => {
    const pa = bootMachine({ memBytes: 16 * 2 ** 20 });
    // some live state so that valid-looking PFNs hit allocated pages too
    pa.allocPagesBulk(GFP.KERNEL, 0, 40);
    pa.allocPages(GFP.KERNEL | GFP.COMP, 3);
    pa.kmalloc(100, GFP.KERNEL);
    fc.assert(
      fc.property(fc.constantFrom(...calls), junk, junk, junk, (name, a, b, c) => {
        const fn = (pa as unknown as Record<string, (...args: unknown[]) => unknown>)[name];
        try {
          fn.call(pa, a, b, c);
        } catch (e) {
          if (!(e instanceof DomainError))
            throw new Error(`${name}(${fc.stringify(a)}, ${fc.stringify(b)}) threw ${String(e)}`);
        }
      }),
      { numRuns: 3000 },
    );
    pa.checkInvariants();
  });
});
