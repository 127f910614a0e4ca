/**
 * Micro-benchmarks of the VMA layer, one measurement per run(). The CLI's bench command runs them
 * and compares the median with the goal.
 */
import { Machine } from './machine';
import { MmStruct } from './mm-struct';
import { MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from './mman';
import { mmap } from './mmap';
import { munmap } from './munmap';
import { mprotect } from './mprotect';
import { procMaps } from './proc-maps';

export interface Benchmark {
  readonly id: string;
  readonly unit: string;
  readonly goal?: { readonly op: '>=' | '<='; readonly value: number };
  run(): number | Promise<number>;
}

const BASE = 0x7e00_0000_0000;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/**
 * The clock, in milliseconds: this process's CPU time (user + system), so that other processes on
 * a shared machine do not count against the figure; wall-clock time where that is unavailable.
 */
function now(): number {
  if (typeof process !== 'undefined' && typeof process.cpuUsage === 'function') {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
  return performance.now();
}

/** An mm with `n` single-page VMAs of alternating protection (so none merge), 2 pages apart. */
function populatedMm(n: number): MmStruct {
  const mm = new MmStruct(new Machine());
  for (let i = 0; i < n; i++) {
    mmap(mm, BASE + i * 0x2000, 0x1000, i % 2 ? PROT_READ : RW, ANON | MAP_FIXED_NOREPLACE);
  }
  return mm;
}

/** Runs `op` for about `ms` milliseconds (at least `min` times); returns operations per second. */
function rate(op: () => void, ms = 200, min = 1000): number {
  let n = 0;
  const t0 = now();
  let t = t0;
  while (n < min || t - t0 < ms) {
    for (let i = 0; i < 1000; i++) op();
    n += 1000;
    t = now();
  }
  return (n * 1000) / (t - t0);
}

export const benchmarks: readonly Benchmark[] = [
  {
    id: 'vma.mmap_munmap_pairs_per_s',
    unit: 'pairs/s',
    goal: { op: '>=', value: 500_000 },
    run() {
      // A process with 1000 VMAs; each pair places one page top-down below mmap_base and unmaps it.
      const mm = populatedMm(1000);
      return rate(() => {
        const r = mmap(mm, 0, 0x1000, RW, ANON);
        if (!('ret' in r)) throw new Error('mmap failed in benchmark');
        munmap(mm, r.ret, 0x1000);
      });
    },
  },
  {
    id: 'vma.mprotect_split_merge_per_s',
    unit: 'splits+merges/s',
    goal: { op: '>=', value: 500_000 },
    run() {
      // The middle page of a 3-page VMA among 1000 others: split into three, then merged back.
      const mm = populatedMm(1000);
      const a = BASE + 0x1000_0000;
      mmap(mm, a, 0x3000, RW, ANON | MAP_FIXED_NOREPLACE);
      return rate(() => {
        mprotect(mm, a + 0x1000, 0x1000, PROT_READ);
        mprotect(mm, a + 0x1000, 0x1000, RW);
      });
    },
  },
  {
    id: 'vma.proc_maps_1000_vmas_us',
    unit: 'us',
    goal: { op: '<=', value: 368 },
    run() {
      const mm = populatedMm(1000);
      let len = 0;
      for (let i = 0; i < 20; i++) len += procMaps(mm).length; // warm-up
      const iters = 200;
      const t0 = now();
      for (let i = 0; i < iters; i++) len += procMaps(mm).length;
      const us = ((now() - t0) * 1000) / iters;
      if (len === 0) throw new Error('empty maps');
      return us;
    },
  },
];
