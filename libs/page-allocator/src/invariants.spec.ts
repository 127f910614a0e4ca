import { bootMachine } from './page-allocator';
import { GFP } from './gfp';
import { InvariantViolationError } from './errors';
import { must } from './testing';

const MiB = 2 ** 20;

describe('checkInvariants', () => {
  it('accounts every page as free, allocated or reserved', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    must(pa.allocPages(GFP.KERNEL, 3));
    const r = pa.checkInvariants();
    expect(r.allocatedPages).toBe(8);
    expect(r.freePages + r.allocatedPages + r.reservedPages).toBe(r.totalPages);
  });

  it('names a leaked page', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const pfn = must(pa.allocPages(GFP.KERNEL, 0));
    pa.mem.refcount[pfn] = 0; // corrupt: neither free nor referenced
    expect(() => pa.checkInvariants()).toThrow(InvariantViolationError);
    expect(() => pa.checkInvariants()).toThrow(
      new RegExp(`pfn 0x${pfn.toString(16)} is neither free nor referenced`),
    );
  });

  it('names two free buddies that were not merged', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    const pfn = must(pa.allocPages(GFP.KERNEL, 1));
    const zi = pa.zoneIndexOfPfn(pfn);
    pa.mem.refcount[pfn] = 0;
    pa.mem.resetFreePage(pfn + 1);
    pa.buddy.addToFreeList(zi, pfn, 0, false); // bypass __free_one_page's merging
    pa.buddy.addToFreeList(zi, pfn + 1, 0, false);
    expect(() => pa.checkInvariants()).toThrow(/are both free at order 0 \(not merged\)/);
  });

  it('names a free-count mismatch', () => {
    const pa = bootMachine({ memBytes: 32 * MiB });
    pa.zones[0].freePages += 1;
    expect(() => pa.checkInvariants()).toThrow(/NR_FREE_PAGES/);
  });
});
