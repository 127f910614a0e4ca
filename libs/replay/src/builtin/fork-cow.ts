import type { BuiltinWorkload } from './builtin';

const PRIVATE = 'private|anonymous|fixed_noreplace';

/**
 * fork and copy-on-write of private anonymous pages (kernel-semantics.md §9.4, §9.5; oracle
 * case fork_cow_private). After fork both PTEs are read-only and the page has refcount 2 and
 * mapcount 2; the child's write copies (one fault) and the parent keeps its frame with refcount 1;
 * a later parent write reuses the page (one fault, no copy) because its refcount is 1; if the
 * parent writes first while the child lives, the parent gets the copy and the child keeps the
 * original. The child's Rss counts the shared pages. Never-written (zero-page) mappings are not
 * copied at fork: the child refaults.
 */
export const forkCow: BuiltinWorkload = {
  name: 'fork-cow',
  description:
    'fork, refcounts and mapcounts of shared anonymous pages, COW copies on write, reuse after the child exits',
  data: {
    name: 'fork-cow',
    seed: 1,
    machine: { arch: 'x86_64', memory: '64M', cpus: 2, quantum: 32 },
    processes: [
      {
        name: 'parent',
        ops: [
          { mmap: { addr: '0x7e0000000000', length: '4p', prot: 'rw-', flags: PRIVATE, save: 'buf' } },
          { touch: { addr: '$buf', length: '4p', kind: 'write', value: 3, expect: { faults: 4 } } },
          { pfn: { addr: '$buf', save: 'a0' } },
          { pfn: { addr: '$buf+1p', save: 'a1' } },
          { pfn: { addr: '$buf+2p', save: 'a2' } },
          { pfn: { addr: '$buf+3p', save: 'a3' } },
          { expect: { page: { addr: '$buf', refcount: 1, mapcount: 1 }, counters: { RssAnon: 16 } } },
          {
            fork: {
              name: 'child',
              ops: [
                // the child sees the parent's frames, shared
                { expect: { page: { addr: '$buf', refcount: 2, mapcount: 2, sameAs: 'a0' } } },
                { expect: { counters: { RssAnon: 16 } } },
                { access: { addr: '$buf+3p', kind: 'read', expect: { bytes: '03', faults: 0 } } },
                // a write copies: one fault per page, a new frame holding the old data then the write
                { touch: { addr: '$buf', length: '2p', kind: 'write', value: 4, expect: { faults: 2 } } },
                { expect: { page: { addr: '$buf', refcount: 1, mapcount: 1, differentFrom: 'a0' } } },
                { expect: { page: { addr: '$buf+1p', refcount: 1, mapcount: 1, differentFrom: 'a1' } } },
                { expect: { page: { addr: '$buf+2p', refcount: 2, mapcount: 2, sameAs: 'a2' } } },
                { touch: { addr: '$buf', length: '2p', kind: 'read', expect: { bytes: '04', faults: 0 } } },
                { expect: { counters: { RssAnon: 16, faults: 2 } } },
                { post: 'child-wrote' },
                { await: 'parent-looked' },
              ],
            },
          },
          { await: 'child-wrote' },
          // the child's writes are not visible; the parent kept a0 and a1, now mapped once
          { touch: { addr: '$buf', length: '2p', kind: 'read', expect: { bytes: '03', faults: 0 } } },
          { expect: { page: { addr: '$buf', refcount: 1, mapcount: 1, sameAs: 'a0' } } },
          { expect: { page: { addr: '$buf+2p', refcount: 2, mapcount: 2, sameAs: 'a2' } } },
          { post: 'parent-looked' },
          { wait: { child: 'child', status: 0 } },
          { expect: { page: { addr: '$buf+2p', refcount: 1, mapcount: 1, sameAs: 'a2' } } },
          // the parent's PTEs stay write-protected: each write is one fault that reuses the page
          { touch: { addr: '$buf', length: '4p', kind: 'write', value: 5, expect: { faults: 4 } } },
          { expect: { page: { addr: '$buf', sameAs: 'a0' } } },
          { expect: { page: { addr: '$buf+2p', refcount: 1, mapcount: 1, sameAs: 'a2' } } },
          { touch: { addr: '$buf', length: '4p', kind: 'write', value: 6, expect: { faults: 0 } } },
          // the parent writes first while a child lives: the parent gets the copy
          {
            fork: {
              name: 'child2',
              ops: [
                { await: 'parent-wrote' },
                { expect: { page: { addr: '$buf+3p', refcount: 1, mapcount: 1, sameAs: 'a3' } } },
                { access: { addr: '$buf+3p', kind: 'read', expect: { bytes: '06' } } },
                { access: { addr: '$buf+3p', kind: 'write', data: '07', expect: { faults: 1 } } },
                { expect: { page: { addr: '$buf+3p', sameAs: 'a3' } } },
              ],
            },
          },
          { access: { addr: '$buf+3p', kind: 'write', data: '08', expect: { faults: 1 } } },
          { expect: { page: { addr: '$buf+3p', refcount: 1, mapcount: 1, differentFrom: 'a3' } } },
          { post: 'parent-wrote' },
          { wait: { child: 'child2', status: 0 } },
          { access: { addr: '$buf+3p', kind: 'read', expect: { bytes: '08' } } },
          // zero-page mappings are not copied at fork (no anon_vma): the child refaults
          { mmap: { addr: '0x7e0000100000', length: '2p', prot: 'rw-', flags: PRIVATE, save: 'zero' } },
          { touch: { addr: '$zero', length: '2p', kind: 'read', expect: { faults: 2 } } },
          { expect: { maps: { count: 2 } } },
          {
            fork: {
              name: 'child3',
              ops: [
                { expect: { page: { addr: '$zero', present: false } } },
                { touch: { addr: '$zero', length: '2p', kind: 'read', expect: { faults: 2, bytes: '00' } } },
              ],
            },
          },
          { wait: { child: 'child3', status: 0 } },
          { expect: { counters: { faults: 11 } } },
        ],
      },
    ],
  },
};
