import type { BuiltinWorkload } from './builtin';

/**
 * mmap-test of the Linux Kernel Labs "Memory mapping" lab, run once against kmmap and once
 * against vmmap (kernel-semantics.md §1.6, checks of §1.7). The numbers come from the lab's
 * sources: NPAGES = 16, patterns aa bb cc dd / a0 b0 c0 d0, a 10 MiB anonymous mapping measured
 * through /proc/my-proc-entry, EIO for a 17-page mapping.
 */
function mmapTest(module: 'kmmap' | 'vmmap', wait: string | null, done: string | null): unknown[] {
  const fd = `${module}_fd`;
  const dev = `$${module}_dev`;
  const devLine = '^[0-9a-f]+-[0-9a-f]+ r--s 00000000 [0-9a-f]{2}:[0-9a-f]{2} [0-9]+ +/dev/mymmap$';
  return [
    ...(wait ? [{ await: wait }] : []),
    { insmod: module },
    { mknod: { path: '/dev/mymmap', major: 42, minor: 0 } },
    // open("/dev/mymmap", O_RDWR | O_SYNC); mmap(NULL, 16 pages, PROT_READ, MAP_SHARED, fd, 0)
    { open: { path: '/dev/mymmap', save: fd } },
    { mmap: { length: '16p', prot: 'r--', flags: 'shared', fd, save: `${module}_dev` } },
    // §1.7: r--s, offset 00000000, the device's path; the only VMA of the process
    { expect: { maps: { count: 1, matches: [devLine] } } },
    // mmap-test prints "matched" for each page whose bytes 0..3 are aa bb cc dd
    { expect: { bytes: { addr: dev, hex: 'aabbccdd', pages: 16 } } },
    // §9.6: special PTEs, no RSS accounting, struct page untouched by the user mapping
    { expect: { counters: { VmRSS: 0, RssAnon: 0, RssFile: 0 } } },
    { expect: { page: { addr: dev, present: true, refcount: 1, mapcount: 0 } } },
    ...(module === 'vmmap'
      ? [{ expect: { page: { addr: `${dev}+15p`, present: true, refcount: 1, mapcount: 0 } } }]
      : []),
    // length > NPAGES * PAGE_SIZE: the driver's mmap returns -EIO and no VMA is left
    { mmap: { length: '17p', prot: 'r--', flags: 'shared', fd, expect: { errno: 'EIO' } } },
    { expect: { maps: { count: 1, matches: [devLine] } } },
    // test >= 2: write(fd, 16 pages of a0 b0 c0 d0), seen through the mapping, then read back
    { write: { fd, length: '16p', pagePattern: 'a0b0c0d0', expect: { ret: 65536 } } },
    { expect: { bytes: { addr: dev, hex: 'a0b0c0d0', pages: 16 } } },
    { read: { fd, length: '16p', pagePattern: 'a0b0c0d0', expect: { ret: 65536 } } },
    // §1.4: kmmap maps with vm_page_prot (read-only for PROT_READ): a user write is SEGV_ACCERR;
    // vmmap maps every page with PAGE_SHARED (writable PTEs): the write does not fault
    module === 'kmmap'
      ? {
          access: {
            addr: dev,
            kind: 'write',
            data: '5a',
            expect: { signal: 'SIGSEGV', code: 'SEGV_ACCERR' },
          },
        }
      : { access: { addr: `${dev}+3`, kind: 'write', data: '5a', expect: { signal: null, faults: 0 } } },
    ...(module === 'vmmap'
      ? [{ access: { addr: dev, kind: 'read', length: 4, expect: { bytes: 'a0b0c05a' } } }]
      : []),
    // test >= 3: the proc entry sums the sizes of the caller's VMAs; +10 MiB anonymous → 10
    { proc: { file: '/proc/my-proc-entry', save: `${module}_before` } },
    { mmap: { length: '10M', prot: 'r--', flags: 'private|anonymous', save: `${module}_anon` } },
    { proc: { file: '/proc/my-proc-entry', save: `${module}_after` } },
    {
      expect: {
        delta: {
          from: `${module}_before`,
          to: `${module}_after`,
          shift: 20,
          equals: 10,
          label: 'mmaped :%d MB',
        },
      },
    },
    { munmap: { addr: `$${module}_anon`, length: '10M' } },
    { munmap: { addr: dev, length: '16p' } },
    { expect: { maps: { count: 0 } } },
    { close: { fd } },
    { unlink: { path: '/dev/mymmap' } },
    { rmmod: module },
    ...(done ? [{ post: done }] : []),
  ];
}

export const labMmap: BuiltinWorkload = {
  name: 'lab-mmap',
  description:
    'The kernel-labs mmap test against kmmap (kmalloc) and vmmap (vmalloc): device mapping, patterns through the mapping, write/read, the proc entry, EIO above 16 pages',
  data: {
    name: 'lab-mmap',
    seed: 1,
    machine: { arch: 'x86_64', memory: '64M', cpus: 2, quantum: 64 },
    processes: [
      { name: 'kmmap-test', ops: mmapTest('kmmap', null, 'kmmap-done') },
      { name: 'vmmap-test', ops: mmapTest('vmmap', 'kmmap-done', null) },
    ],
  },
};
