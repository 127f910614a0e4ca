import type { BuiltinWorkload } from './builtin';

const ANON = 'private|anonymous';

/** What glibc malloc does with the kernel for one thread: large blocks, an arena, realloc, trim. */
function churner(name: string, round: number): unknown {
  return {
    name,
    ops: [
      // large allocations (>= M_MMAP_THRESHOLD, 128 KiB) are their own mmap, freed by munmap
      {
        repeat: {
          times: 16,
          ops: [
            { mmap: { length: '256K', prot: 'rw-', flags: ANON, save: `${name}_big` } },
            {
              touch: {
                addr: `$${name}_big`,
                length: '256K',
                kind: 'write',
                value: round,
                expect: { faults: 64 },
              },
            },
            { munmap: { addr: `$${name}_big`, length: '256K' } },
          ],
        },
      },
      { expect: { counters: { RssAnon: 0, faults: 1024 }, maps: { count: 0 } } },
      // an arena: small blocks written all over it
      { mmap: { length: '1M', prot: 'rw-', flags: ANON, save: `${name}_arena` } },
      { pattern: { addr: `$${name}_arena`, length: '1M', pattern: 'sequential', count: 256, writeRatio: 1 } },
      { expect: { counters: { RssAnon: 1024 } } },
      {
        pattern: {
          addr: `$${name}_arena`,
          length: '1M',
          pattern: 'zipfian',
          count: 4096,
          writeRatio: 0.3,
          expect: { faults: 0 },
        },
      },
      // free() trims the top of the arena with MADV_DONTNEED: the pages go, a later read sees zeros
      { madvise: { addr: `$${name}_arena+512K`, length: '512K', advice: 'DONTNEED' } },
      { expect: { counters: { RssAnon: 512 } } },
      {
        touch: {
          addr: `$${name}_arena+512K`,
          length: '512K',
          kind: 'read',
          expect: { bytes: '00', faults: 128 },
        },
      },
      { expect: { counters: { RssAnon: 512 } } },
      // realloc of a large block: mremap(MAYMOVE) keeps the data
      { mmap: { length: '64K', prot: 'rw-', flags: ANON, save: `${name}_blk` } },
      { touch: { addr: `$${name}_blk`, length: '64K', kind: 'write', value: 0x5a, expect: { faults: 16 } } },
      { proc: { file: 'maps' } },
      {
        mremap: {
          addr: `$${name}_blk`,
          oldLength: '64K',
          newLength: '1M',
          flags: 'maymove',
          save: `${name}_blk2`,
        },
      },
      { touch: { addr: `$${name}_blk2`, length: '64K', kind: 'read', expect: { bytes: '5a', faults: 0 } } },
      { touch: { addr: `$${name}_blk2+64K`, length: '64K', kind: 'read', expect: { bytes: '00' } } },
      { munmap: { addr: `$${name}_blk2`, length: '1M' } },
      { munmap: { addr: `$${name}_arena`, length: '1M' } },
      { expect: { counters: { RssAnon: 0 }, maps: { count: 0 } } },
    ],
  };
}

/**
 * Allocation churn as a malloc implementation causes it (mmap'd large blocks, an arena trimmed
 * with MADV_DONTNEED, realloc through mremap), in three processes at once. Linux semantics
 * checked: each fresh mapping faults once per page written, DONTNEED drops private anonymous
 * pages and later reads see zeros (kernel-semantics.md §8.12), mremap moves keep the data.
 */
export const mallocChurn: BuiltinWorkload = {
  name: 'malloc-churn',
  description:
    'malloc-like churn in three processes: mmap/munmap of large blocks, an arena trimmed with MADV_DONTNEED, realloc by mremap',
  data: {
    name: 'malloc-churn',
    seed: 1,
    machine: { arch: 'x86_64', memory: '64M', cpus: 2, quantum: 48 },
    processes: [churner('churn1', 1), churner('churn2', 2), churner('churn3', 3)],
    final: [{ buddyinfo: { sameAs: 'boot' } }],
  },
};
