import type { BuiltinWorkload } from './builtin';

const PAGES = 256;

/**
 * Fragment the buddy free lists and let them coalesce (kernel-semantics.md §5.3-§5.5). Two
 * processes fault in 256 pages each, one page per quantum on two CPUs, so their frames come off
 * the free lists interleaved: `even`, `odd`, `even`, ... When `odd` exits, each of its frames
 * goes back with its buddy still allocated (by `even`), so it cannot merge: at least 240
 * order-0 blocks appear (256 less a few where page-table frames shift the interleaving).
 * When `even` exits too, every buddy is free again and __free_one_page merges them back: after
 * the run /proc/buddyinfo is exactly what it was at boot (this model has no per-CPU lists).
 */
export const buddyFragmentation: BuiltinWorkload = {
  name: 'buddy-fragmentation',
  description:
    'Two processes interleave their page allocations; one exits and leaves order-0 holes; when both are gone the free lists coalesce back to the boot state',
  data: {
    name: 'buddy-fragmentation',
    seed: 1,
    machine: { arch: 'x86_64', memory: '64M', cpus: 2, quantum: 1 },
    processes: [
      {
        name: 'even',
        ops: [
          {
            fork: {
              name: 'odd',
              ops: [
                {
                  mmap: {
                    addr: '0x7e0000400000',
                    length: `${PAGES}p`,
                    prot: 'rw-',
                    flags: 'private|anonymous|fixed_noreplace',
                  },
                },
                {
                  touch: {
                    addr: '0x7e0000400000',
                    length: `${PAGES}p`,
                    kind: 'write',
                    expect: { faults: PAGES },
                  },
                },
                { post: 'odd-filled' },
                { await: 'even-looked' },
              ],
            },
          },
          {
            mmap: {
              addr: '0x7e0000000000',
              length: `${PAGES}p`,
              prot: 'rw-',
              flags: 'private|anonymous|fixed_noreplace',
            },
          },
          {
            touch: { addr: '0x7e0000000000', length: `${PAGES}p`, kind: 'write', expect: { faults: PAGES } },
          },
          { await: 'odd-filled' },
          { expect: { maps: { count: 1 } } },
          { snapshot: 'filled' },
          { expect: { buddyinfo: { differentFrom: 'boot' } } },
          { post: 'even-looked' },
          { wait: { child: 'odd', status: 0 } },
          { snapshot: 'fragmented' },
          { expect: { buddyinfo: { zone: 'DMA32', order: 0, atLeast: 240 } } },
          { munmap: { addr: '0x7e0000000000', length: `${PAGES}p` } },
          { expect: { counters: { RssAnon: 0 } } },
        ],
      },
    ],
    final: [
      { buddyinfo: { sameAs: 'boot' } },
      { meminfo: { sameAs: 'boot', fields: ['MemFree', 'PageTables'] } },
    ],
  },
};
