import type { BuiltinWorkload } from './builtin';

/**
 * Demand paging of private anonymous memory (kernel-semantics.md §9.3, §9.8; oracle cases
 * demand_write_fault, demand_read_zero_page): mmap allocates nothing; a read fault maps the
 * shared zero page (present, not in Rss); the first write then takes one more fault and gets a
 * private page; an access the PTE allows costs no fault; PROT_NONE and unmapped addresses are
 * SIGSEGV with SEGV_ACCERR and SEGV_MAPERR.
 */
export const demandPaging: BuiltinWorkload = {
  name: 'demand-paging',
  description:
    'Zero-page reads, write faults, one fault per page and none on a present PTE, Rss in /proc/PID/status, SEGV_ACCERR/SEGV_MAPERR',
  data: {
    name: 'demand-paging',
    seed: 1,
    machine: { arch: 'x86_64', memory: '64M', cpus: 2, quantum: 64 },
    processes: [
      {
        name: 'demand',
        ops: [
          {
            mmap: {
              addr: '0x7e0000000000',
              length: '64p',
              prot: 'rw-',
              flags: 'private|anonymous|fixed_noreplace',
              save: 'heap',
            },
          },
          {
            expect: {
              counters: { VmRSS: 0, RssAnon: 0, faults: 0 },
              page: { addr: '$heap', present: false },
            },
          },
          // 64 read faults, each mapping the zero page: reads see 0, Rss stays 0
          { touch: { addr: '$heap', length: '64p', kind: 'read', expect: { faults: 64, bytes: '00' } } },
          { expect: { counters: { RssAnon: 0, faults: 64 }, page: { addr: '$heap', present: true } } },
          { pfn: { addr: '$heap', save: 'zero' } },
          { expect: { page: { addr: '$heap+63p', present: true, sameAs: 'zero' } } },
          // the first write to a zero-page PTE is one more fault and a private page
          { touch: { addr: '$heap', length: '32p', kind: 'write', value: 17, expect: { faults: 32 } } },
          { expect: { counters: { RssAnon: 128, faults: 96 } } },
          { expect: { page: { addr: '$heap', refcount: 1, mapcount: 1, differentFrom: 'zero' } } },
          { expect: { page: { addr: '$heap+32p', sameAs: 'zero' } } },
          // accesses the PTEs allow cost nothing
          { touch: { addr: '$heap', length: '32p', kind: 'write', value: 17, expect: { faults: 0 } } },
          { touch: { addr: '$heap', length: '32p', kind: 'read', expect: { faults: 0, bytes: '11' } } },
          { touch: { addr: '$heap+32p', length: '32p', kind: 'read', expect: { faults: 0, bytes: '00' } } },
          // write first: one fault per page, no zero page on the way
          {
            mmap: {
              addr: '0x7e0000100000',
              length: '64p',
              prot: 'rw-',
              flags: 'private|anonymous|fixed_noreplace',
              save: 'fresh',
            },
          },
          { touch: { addr: '$fresh', length: '64p', kind: 'write', value: 34, expect: { faults: 64 } } },
          { expect: { counters: { RssAnon: 384, faults: 160 } } },
          {
            pattern: {
              addr: '$fresh',
              length: '64p',
              pattern: 'uniform',
              count: 512,
              writeRatio: 0.5,
              expect: { faults: 0 },
            },
          },
          {
            pattern: {
              addr: '$fresh',
              length: '64p',
              pattern: 'strided',
              stride: 12288,
              count: 100,
              expect: { faults: 0 },
            },
          },
          // a zipfian walk over a fresh region: faults only on the pages it reaches, never a signal
          {
            mmap: {
              addr: '0x7e0000200000',
              length: '256p',
              prot: 'rw-',
              flags: 'private|anonymous|fixed_noreplace',
              save: 'hot',
            },
          },
          { proc: { file: 'maps' } },
          {
            pattern: {
              addr: '$hot',
              length: '256p',
              pattern: 'zipfian',
              theta: 0.99,
              count: 2000,
              writeRatio: 0.25,
              expect: { signal: null },
            },
          },
          { munmap: { addr: '$hot', length: '256p' } },
          { munmap: { addr: '$heap', length: '64p' } },
          { expect: { counters: { RssAnon: 256 } } },
          { munmap: { addr: '$fresh', length: '64p' } },
          { expect: { counters: { VmRSS: 0, RssAnon: 0 }, maps: { count: 0 } } },
          // §9.3: read of PROT_NONE → SEGV_ACCERR; outside any VMA → SEGV_MAPERR; write to r-- → SEGV_ACCERR
          {
            mmap: {
              addr: '0x7e0000300000',
              length: '1p',
              prot: '---',
              flags: 'private|anonymous|fixed_noreplace',
            },
          },
          {
            access: {
              addr: '0x7e0000300000',
              kind: 'read',
              expect: { signal: 'SIGSEGV', code: 'SEGV_ACCERR' },
            },
          },
          {
            access: {
              addr: '0x7e0000301000',
              kind: 'read',
              expect: { signal: 'SIGSEGV', code: 'SEGV_MAPERR' },
            },
          },
          { mprotect: { addr: '0x7e0000300000', length: '1p', prot: 'r--' } },
          {
            access: {
              addr: '0x7e0000300000',
              kind: 'read',
              expect: { signal: null, bytes: '00', faults: 1 },
            },
          },
          {
            access: {
              addr: '0x7e0000300000',
              kind: 'write',
              expect: { signal: 'SIGSEGV', code: 'SEGV_ACCERR' },
            },
          },
          { expect: { counters: { signals: 3 } } },
        ],
      },
    ],
  },
};
