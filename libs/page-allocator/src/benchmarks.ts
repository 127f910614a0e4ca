import { GFP } from './gfp';
import { bootMachine, PageAllocator } from './page-allocator';

/** A benchmark as `pagemesh bench` runs it: run() measures once; the runner takes the median. */
export interface Benchmark {
  readonly id: string;
  readonly unit: string;
  readonly goal?: { readonly op: '>=' | '<='; readonly value: number };
  run(): number;
}

const GiB = 2 ** 30;
let shared: PageAllocator | null = null;
/** One 4 GiB machine reused across runs, so runs measure the allocator, not the boot. */
function machine(): PageAllocator {
  shared ??= bootMachine({ arch: 'x86_64', memBytes: 4 * GiB });
  return shared;
}

/**
 * Seconds of CPU time (user + system) this process spent since `start`. The figures are per
 * CPU-second rather than per wall-second so that a loaded machine (other builds and tests on the
 * same two cores) does not distort them; on an idle machine the two agree.
 */
function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

/** Deterministic xorshift32, so every run does the same work. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/**
 * Order-0 alloc_pages + __free_pages pairs per second: batches of 512 GFP_KERNEL pages taken
 * and then returned in the order they came, 1 M pairs per run. Each pair is counted once.
 */
function order0AllocFree(): number {
  const pa = machine();
  const batch = new Int32Array(512);
  const rounds = 2048;
  const t0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < batch.length; i++) batch[i] = pa.allocPages(GFP.KERNEL, 0) as number;
    for (let i = 0; i < batch.length; i++) pa.freePages(batch[i], 0);
  }
  const seconds = cpuSecondsSince(t0);
  return Math.round((rounds * batch.length) / seconds);
}

/**
 * Mixed orders: a pool of up to 4096 live blocks, orders 0..5 (0 most often), each step either
 * allocates or frees a random live block; operations (alloc or free) per second.
 */
function mixedOrders(): number {
  const pa = machine();
  const next = rng(0x9e3779b9);
  const pfns = new Int32Array(4096);
  const orders = new Int8Array(4096);
  let live = 0;
  const steps = 400_000;
  const t0 = process.cpuUsage();
  for (let s = 0; s < steps; s++) {
    const r = next();
    if (live === pfns.length || (live > 0 && (r & 1) === 1)) {
      const i = (r >>> 1) % live;
      pa.freePages(pfns[i], orders[i]);
      live--;
      pfns[i] = pfns[live];
      orders[i] = orders[live];
    } else {
      const o = (r >>> 4) % 8;
      const order = o < 4 ? 0 : o - 3;
      const pfn = pa.allocPages(GFP.KERNEL, order);
      if (pfn === null) continue;
      pfns[live] = pfn;
      orders[live] = order;
      live++;
    }
  }
  const seconds = cpuSecondsSince(t0);
  for (let i = 0; i < live; i++) pa.freePages(pfns[i], orders[i]);
  return Math.round(steps / seconds);
}

/** Bytes of struct page metadata per page, measured from the typed arrays of a booted machine. */
function structPageBytes(): number {
  const pa = bootMachine({ memBytes: 64 * 2 ** 20 });
  const m = pa.mem;
  return (
    (m.flags.byteLength + m.refcount.byteLength + m.mapcountOrNext.byteLength + m.privOrPrev.byteLength) /
    m.nrPages
  );
}

/** CPU time of bootMachine() for a 64 GiB x86_64 machine (16.7 M pages), in ms. */
function boot64(): number {
  const t0 = process.cpuUsage();
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * GiB });
  const ms = cpuSecondsSince(t0) * 1000;
  if (pa.totalPages !== 16 * 2 ** 20) throw new Error('unexpected machine size');
  return Math.round(ms);
}

export const benchmarks: readonly Benchmark[] = [
  {
    id: 'allocator.order0_alloc_free_per_s',
    unit: 'alloc+free pairs per CPU-second',
    goal: { op: '>=', value: 5_000_000 },
    run: order0AllocFree,
  },
  { id: 'allocator.mixed_orders_per_s', unit: 'ops per CPU-second', run: mixedOrders },
  {
    id: 'allocator.struct_page_bytes_per_page',
    unit: 'bytes',
    goal: { op: '<=', value: 16 },
    run: structPageBytes,
  },
  { id: 'allocator.boot_64gib_ms', unit: 'ms (CPU time)', goal: { op: '<=', value: 2000 }, run: boot64 },
];
