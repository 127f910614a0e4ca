import fc from 'fast-check';
import { bootMachine, PageAllocator } from './page-allocator';
import { GFP } from './gfp';
import { DomainError } from './errors';

const MiB = 2 ** 20;

/** A random operation; indices pick among live objects modulo their count. */
type Op =
  | { op: 'alloc'; gfp: number; order: number }
  | { op: 'free'; i: number }
  | { op: 'get'; i: number }
  | { op: 'put'; i: number }
  | { op: 'split'; i: number }
  | { op: 'kmalloc'; size: number; gfp: number }
  | { op: 'kfree'; i: number }
  | { op: 'write'; i: number; byte: number }
  | { op: 'bad'; kind: number; i: number };

const gfpArb = fc.constantFrom(
  GFP.KERNEL,
  GFP.KERNEL | GFP.COMP,
  GFP.ATOMIC,
  GFP.HIGHUSER_MOVABLE,
  GFP.KERNEL | GFP.DMA,
  GFP.KERNEL | GFP.ZERO | GFP.COMP,
  GFP.USER | GFP.DMA32,
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('alloc' as const),
      gfp: gfpArb,
      order: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 10 })),
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('free' as const), i: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), i: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('put' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('split' as const), i: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('kmalloc' as const),
      size: fc.oneof(fc.integer({ min: 0, max: 256 }), fc.integer({ min: 0, max: 80000 })),
      gfp: fc.constantFrom(
        GFP.KERNEL,
        GFP.ATOMIC,
        GFP.KERNEL | GFP.DMA,
        GFP.KERNEL | GFP.ZERO,
        GFP.KERNEL | GFP.RECLAIMABLE,
        GFP.KERNEL_ACCOUNT,
      ),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('kfree' as const), i: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      i: fc.nat(),
      byte: fc.integer({ min: 1, max: 255 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('bad' as const),
      kind: fc.integer({ min: 0, max: 6 }),
      i: fc.nat(),
    }),
  },
);

interface Block {
  pfn: number;
  order: number;
  compound: boolean;
  /** references held beyond the allocation's own */
  extraRefs: number;
}

/** Applies ops to the allocator while tracking what the test owns. */
class Driver {
  readonly blocks: Block[] = [];
  readonly objects: number[] = [];

  constructor(readonly pa: PageAllocator) {}

  apply(o: Op): void {
    const pa = this.pa;
    const pick = <T>(arr: T[], i: number): [T, number] | null =>
      arr.length ? [arr[i % arr.length], i % arr.length] : null;
    switch (o.op) {
      case 'alloc': {
        const pfn = pa.allocPages(o.gfp | GFP.NOWARN, o.order);
        if (pfn !== null && pa.zoneIndexOfPfn(pfn) > pa.highestZoneIdx(o.gfp)) {
          throw new Error(`pfn ${pfn} is above gfp_zone`);
        }
        if (pfn !== null && pfn % (1 << o.order) !== 0)
          throw new Error(`block ${pfn} is not aligned to order ${o.order}`);
        if (pfn !== null)
          this.blocks.push({
            pfn,
            order: o.order,
            compound: (o.gfp & GFP.COMP) !== 0 || o.order === 0,
            extraRefs: 0,
          });
        return;
      }
      case 'free': {
        const got = pick(this.blocks, o.i);
        if (!got) return;
        const [b, idx] = got;
        if (b.extraRefs > 0) {
          if (!b.compound) return; // __free_pages would split a non-compound block: tested by unit tests
          pa.putPage(b.pfn);
          b.extraRefs--;
          return;
        }
        pa.freePages(b.pfn, b.order);
        this.blocks.splice(idx, 1);
        return;
      }
      case 'get': {
        const got = pick(this.blocks, o.i);
        if (!got || !got[0].compound) return;
        const b = got[0];
        pa.getPage(b.pfn + ((o.i >> 3) % (1 << b.order)));
        b.extraRefs++;
        return;
      }
      case 'put': {
        const got = pick(this.blocks, o.i);
        if (!got) return;
        const [b, idx] = got;
        if (!b.compound) return;
        pa.putPage(b.pfn + ((o.i >> 3) % (1 << b.order)));
        if (b.extraRefs > 0) b.extraRefs--;
        else this.blocks.splice(idx, 1);
        return;
      }
      case 'split': {
        const got = pick(this.blocks, o.i);
        if (!got) return;
        const [b, idx] = got;
        if (b.order === 0 || (b.compound && b.order > 0) || b.extraRefs) return;
        pa.splitPage(b.pfn, b.order);
        this.blocks.splice(idx, 1);
        for (let k = 0; k < 1 << b.order; k++)
          this.blocks.push({ pfn: b.pfn + k, order: 0, compound: true, extraRefs: 0 });
        return;
      }
      case 'kmalloc': {
        const addr = pa.kmalloc(o.size, o.gfp | GFP.NOWARN);
        if (addr !== null && o.size > 0) {
          if (pa.ksize(addr) < o.size) throw new Error(`ksize ${pa.ksize(addr)} < ${o.size}`);
          pa.virtToPfn(addr); // kmalloc memory is always lowmem, direct-mapped
          this.objects.push(addr);
        }
        return;
      }
      case 'kfree': {
        const got = pick(this.objects, o.i);
        if (!got) return;
        pa.kfree(got[0]);
        this.objects.splice(got[1], 1);
        return;
      }
      case 'write': {
        const got = pick(this.blocks, o.i);
        if (!got) return;
        pa.writePhys(got[0].pfn * 4096 + (o.i % 4096), Uint8Array.of(o.byte));
        return;
      }
      case 'bad':
        this.badRequest(o.kind, o.i);
        return;
    }
  }

  /** A misuse must throw a DomainError and change nothing visible. */
  private badRequest(kind: number, i: number): void {
    const pa = this.pa;
    const b = this.blocks.length ? this.blocks[i % this.blocks.length] : null;
    const before = pa.procBuddyinfo() + pa.procSlabinfo();
    const attempt = (): void => {
      switch (kind) {
        case 0:
          pa.allocPages(GFP.KERNEL, 11);
          return;
        case 1:
          pa.freePages(pa.totalPages + (i % 7), 0);
          return;
        case 2: // free with the wrong order
          if (!b) throw new DomainErrorStandIn();
          pa.freePages(b.pfn, (b.order + 1) % 11);
          return;
        case 3: // free a tail page
          if (!b || b.order === 0) throw new DomainErrorStandIn();
          pa.freePages(b.pfn + 1, 0);
          return;
        case 4: {
          // double free of a page we know is free
          const pfn = this.firstFreePfn();
          if (pfn < 0) throw new DomainErrorStandIn();
          pa.freePages(pfn, 0);
          return;
        }
        case 5: {
          const pfn = this.firstFreePfn();
          if (pfn < 0) throw new DomainErrorStandIn();
          pa.putPage(pfn);
          return;
        }
        default: {
          const addr = this.objects.length
            ? this.objects[i % this.objects.length] + 1
            : pa.profile.pageOffset + 8;
          pa.kfree(addr);
        }
      }
    };
    let threw: unknown = null;
    try {
      attempt();
    } catch (e) {
      threw = e;
    }
    if (!(threw instanceof DomainError) && !(threw instanceof DomainErrorStandIn))
      throw new Error(`bad request kind ${kind} did not throw a DomainError: ${String(threw)}`);
    if (pa.procBuddyinfo() + pa.procSlabinfo() !== before)
      throw new Error(`bad request kind ${kind} changed the allocator`);
  }

  private firstFreePfn(): number {
    for (let pfn = 0; pfn < this.pa.totalPages; pfn += 17) if (this.pa.isFree(pfn)) return pfn;
    return -1;
  }

  releaseAll(): void {
    for (const addr of this.objects) this.pa.kfree(addr);
    this.objects.length = 0;
    for (const b of this.blocks) {
      if (b.compound) {
        for (let r = 0; r <= b.extraRefs; r++) this.pa.putPage(b.pfn);
      } else {
        this.pa.freePages(b.pfn, b.order);
      }
    }
    this.blocks.length = 0;
  }
}

/** Marks a bad request that had nothing to act on (no live block): vacuously fine. */
class DomainErrorStandIn extends Error {}

const machines = fc.constantFrom(
  { arch: 'x86_64' as const, memBytes: 16 * MiB },
  { arch: 'x86_64' as const, memBytes: 40 * MiB },
  { arch: 'x86' as const, memBytes: 64 * MiB },
);

describe('page allocator properties', () => {
  it('keeps every invariant after every step and returns to the boot buddyinfo', () => {
    fc.assert(
      fc.property(
        machines,
        fc.array(opArb, { minLength: 20, maxLength: 200, size: 'max' }),
        (config, ops) => {
          const pa = bootMachine(config);
          const boot = pa.procBuddyinfo();
          const driver = new Driver(pa);
          for (const o of ops) {
            driver.apply(o);
            const r = pa.checkInvariants();
            if (r.freePages + r.allocatedPages + r.reservedPages !== pa.totalPages)
              throw new Error('page accounting broken');
            if (r.freePages !== pa.nrFreePages) throw new Error('free count mismatch');
          }
          driver.releaseAll();
          pa.checkInvariants();
          expect(pa.procBuddyinfo()).toBe(boot);
          expect(pa.nrFreePages).toBe(pa.managedPages);
          expect(pa.slabUnreclaimablePages).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('gives the same PFNs for the same sequence', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120, size: 'max' }), (ops) => {
        const trace = (): string => {
          const pa = bootMachine({ memBytes: 24 * MiB });
          const d = new Driver(pa);
          for (const o of ops) d.apply(o);
          return JSON.stringify([d.blocks, d.objects, pa.procBuddyinfo()]);
        };
        expect(trace()).toBe(trace());
      }),
      { numRuns: 25 },
    );
  });
});
