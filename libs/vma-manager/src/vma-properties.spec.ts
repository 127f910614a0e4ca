import fc from 'fast-check';
import { Machine } from './machine';
import { MmStruct } from './mm-struct';
import * as M from './mman';
import { mmap } from './mmap';
import { munmap } from './munmap';
import { mprotect } from './mprotect';
import { mremap } from './mremap';
import { madvise } from './madvise';
import { mlock, munlock } from './mlock';
import { checkMmInvariants } from './vma-invariants';
import { procMapsLines } from './proc-maps';

/** A 32-page window keeps the random ops colliding with each other. */
const BASE = 0x7e00_0000_0000;
const WINDOW_PAGES = 32;

const page = fc.integer({ min: 0, max: WINDOW_PAGES - 1 });
const pages = fc.integer({ min: 1, max: 16 });
const addr = page.map((p) => BASE + p * 4096);
const len = fc.oneof(
  { weight: 9, arbitrary: pages.map((n) => n * 4096) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x9000 }) },
);
const prot = fc.constantFrom(
  M.PROT_NONE,
  M.PROT_READ,
  M.PROT_READ | M.PROT_WRITE,
  M.PROT_READ | M.PROT_EXEC,
  7,
);
const mapType = fc.constantFrom(M.MAP_PRIVATE, M.MAP_PRIVATE, M.MAP_PRIVATE, M.MAP_SHARED);
const placement = fc.constantFrom(M.MAP_FIXED, M.MAP_FIXED_NOREPLACE, 0);
const extra = fc.constantFrom(
  0,
  0,
  0,
  M.MAP_NORESERVE,
  M.MAP_POPULATE,
  M.MAP_LOCKED,
  M.MAP_GROWSDOWN,
  M.MAP_STACK,
);
const advice = fc.constantFrom(
  M.MADV_DONTNEED,
  M.MADV_FREE,
  M.MADV_RANDOM,
  M.MADV_SEQUENTIAL,
  M.MADV_NORMAL,
  M.MADV_DONTFORK,
  M.MADV_DOFORK,
  M.MADV_WIPEONFORK,
  M.MADV_KEEPONFORK,
  M.MADV_POPULATE_READ,
  M.MADV_POPULATE_WRITE,
  M.MADV_HUGEPAGE,
  M.MADV_NOHUGEPAGE,
);
const remapFlags = fc.constantFrom(0, M.MREMAP_MAYMOVE, M.MREMAP_MAYMOVE | M.MREMAP_FIXED);
const remapFlagsDontunmap = fc.constantFrom(
  M.MREMAP_MAYMOVE | M.MREMAP_DONTUNMAP,
  M.MREMAP_MAYMOVE | M.MREMAP_DONTUNMAP | M.MREMAP_FIXED,
);

type Step = { name: string; run: (mm: MmStruct) => unknown };

function steps(withDontunmap: boolean): fc.Arbitrary<Step> {
  return fc.oneof(
    fc
      .record({ a: addr, l: len, p: prot, t: mapType, f: placement, x: extra })
      .map(({ a, l, p, t, f, x }) => ({
        name: `mmap ${a.toString(16)} ${l} ${p} ${t | f | x | M.MAP_ANONYMOUS}`,
        run: (mm: MmStruct) => mmap(mm, a, l, p, t | f | x | M.MAP_ANONYMOUS),
      })),
    fc.record({ a: addr, l: len }).map(({ a, l }) => ({
      name: `munmap ${a.toString(16)} ${l}`,
      run: (mm: MmStruct) => munmap(mm, a, l),
    })),
    fc.record({ a: addr, l: len, p: prot }).map(({ a, l, p }) => ({
      name: `mprotect ${a.toString(16)} ${l} ${p}`,
      run: (mm: MmStruct) => mprotect(mm, a, l, p),
    })),
    fc
      .record({
        a: addr,
        o: len,
        n: len,
        f: withDontunmap ? fc.oneof(remapFlags, remapFlagsDontunmap) : remapFlags,
        t: addr,
      })
      .map(({ a, o, n, f, t }) => ({
        name: `mremap ${a.toString(16)} ${o} ${n} ${f} ${t.toString(16)}`,
        run: (mm: MmStruct) => mremap(mm, a, o, f & M.MREMAP_DONTUNMAP ? o : n, f, t),
      })),
    fc.record({ a: addr, l: len, v: advice }).map(({ a, l, v }) => ({
      name: `madvise ${a.toString(16)} ${l} ${v}`,
      run: (mm: MmStruct) => madvise(mm, a, l, v),
    })),
    fc.record({ a: addr, l: len, on: fc.boolean() }).map(({ a, l, on }) => ({
      name: `${on ? 'mlock' : 'munlock'} ${a.toString(16)} ${l}`,
      run: (mm: MmStruct) => (on ? mlock(mm, a, l) : munlock(mm, a, l)),
    })),
  );
}

function replay(seq: Step[], merged: boolean): void {
  const mm = new MmStruct(new Machine());
  const log: string[] = [];
  for (const s of seq) {
    const r = s.run(mm);
    log.push(`${s.name} -> ${JSON.stringify(r)}`);
    const broken = checkMmInvariants(mm, merged);
    if (broken)
      throw new Error(`${broken}\nafter:\n${log.join('\n')}\nmaps:\n${procMapsLines(mm).join('\n')}`);
  }
}

describe('VMA invariants under random syscall sequences', () => {
  it('keeps the VMA set sorted, disjoint, merged as Linux merges, and the counters exact', () => {
    fc.assert(
      fc.property(fc.array(steps(false), { minLength: 1, maxLength: 40 }), (seq) => replay(seq, true)),
      { numRuns: 1000 },
    );
  });

  it('keeps the VMA set sorted, disjoint and the counters exact with MREMAP_DONTUNMAP too', () => {
    fc.assert(
      fc.property(fc.array(steps(true), { minLength: 1, maxLength: 40 }), (seq) => replay(seq, false)),
      { numRuns: 500 },
    );
  });

  it('returns a value for every input, never throws, for arbitrary 64-bit arguments', () => {
    const u64 = fc.oneof(
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    );
    fc.assert(
      fc.property(u64, u64, u64, fc.integer({ min: 0, max: 0xffff }), (a, b, c, f) => {
        const mm = new MmStruct(new Machine());
        mmap(mm, BASE, 0x10000, 3, M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_FIXED);
        for (const r of [
          munmap(mm, a, b),
          mprotect(mm, a, b, f & 7),
          mremap(mm, a, b, c, f & 7, a),
          madvise(mm, a, b, f & 31),
          mlock(mm, a, b),
          munlock(mm, a, b),
          mmap(mm, a, b, f & 7, (f & 0x3f) | M.MAP_ANONYMOUS),
        ]) {
          expect('ret' in r || 'errno' in r).toBe(true);
        }
        expect(checkMmInvariants(mm)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
