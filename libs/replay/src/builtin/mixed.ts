import type { BuiltinWorkload } from './builtin';

const PROCESSES = 8;
const FIXED = 'private|anonymous|fixed_noreplace';

/** One worker: a region of its own, a mix of syscalls and generated accesses, a child. */
function worker(i: number): unknown {
  const name = `worker${i}`;
  const base = `0x${(0x7e0000000000 + i * 0x10000000).toString(16)}`;
  const v = (s: string) => `$${name}_${s}`;
  const pages = 128 + 32 * (i % 4);
  const pattern = (['sequential', 'strided', 'uniform', 'zipfian'] as const)[i % 4];
  return {
    name,
    ops: [
      { mmap: { addr: base, length: `${pages}p`, prot: 'rw-', flags: FIXED, save: `${name}_r` } },
      {
        pattern: {
          addr: v('r'),
          length: `${pages}p`,
          pattern,
          stride: '12K',
          count: 2000,
          writeRatio: 0.4,
          expect: { signal: null },
        },
      },
      { mprotect: { addr: v('r'), length: '16p', prot: 'r--' } },
      {
        pattern: {
          addr: v('r'),
          length: '16p',
          pattern: 'uniform',
          count: 200,
          writeRatio: 0,
          expect: { signal: null },
        },
      },
      { access: { addr: v('r'), kind: 'write', expect: { signal: 'SIGSEGV', code: 'SEGV_ACCERR' } } },
      { mprotect: { addr: v('r'), length: '16p', prot: 'rw-' } },
      { madvise: { addr: `${v('r')}+32p`, length: '32p', advice: 'DONTNEED' } },
      { touch: { addr: `${v('r')}+32p`, length: '32p', kind: 'read', expect: { bytes: '00' } } },
      {
        fork: {
          name: `${name}-child`,
          ops: [
            { proc: { file: 'maps' } },
            {
              touch: {
                addr: v('r'),
                length: '32p',
                kind: 'write',
                value: 0xc0 + i,
                expect: { signal: null },
              },
            },
            {
              pattern: {
                addr: v('r'),
                length: `${pages}p`,
                pattern: 'zipfian',
                count: 500,
                writeRatio: 0.2,
                expect: { signal: null },
              },
            },
            { munmap: { addr: v('r'), length: `${pages}p` } },
            { expect: { counters: { RssAnon: 0 } } },
          ],
        },
      },
      {
        mmap: {
          addr: `0x${(0x7e0000000000 + i * 0x10000000 + 0x1000000).toString(16)}`,
          length: '64p',
          prot: 'rw-',
          flags: FIXED,
          save: `${name}_s`,
        },
      },
      { proc: { file: 'maps' } },
      {
        repeat: {
          times: 4,
          ops: [
            { touch: { addr: v('s'), length: '64p', kind: 'write', value: i } },
            { madvise: { addr: v('s'), length: '64p', advice: 'DONTNEED' } },
          ],
        },
      },
      { wait: { child: `${name}-child`, status: 0 } },
      { munmap: { addr: v('s'), length: '64p' } },
      { munmap: { addr: v('r'), length: `${pages}p` } },
      { expect: { counters: { RssAnon: 0 }, maps: { count: 0 } } },
    ],
  };
}

/**
 * The load-test workload: eight processes and their children on four CPUs, every kind of
 * generated access, mprotect, madvise, fork and munmap interleaved, so faults and syscalls of
 * different processes overlap in the services. Checks: no signal but the one asked for, zeros
 * after DONTNEED, every child exits 0, every page comes back (Rss 0, buddyinfo as at boot).
 */
export const mixed: BuiltinWorkload = {
  name: 'mixed',
  description:
    'Load test: 8 processes + 8 children on 4 CPUs, mixed syscalls and sequential/strided/uniform/zipfian accesses',
  data: {
    name: 'mixed',
    seed: 1,
    machine: { arch: 'x86_64', memory: '128M', cpus: 4, quantum: 64 },
    processes: Array.from({ length: PROCESSES }, (_, i) => worker(i)),
    final: [
      { buddyinfo: { sameAs: 'boot' } },
      { meminfo: { sameAs: 'boot', fields: ['MemFree', 'PageTables'] } },
    ],
  },
};
