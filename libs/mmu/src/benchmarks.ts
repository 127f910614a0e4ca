import { bootMachine, GFP } from '@pagemesh/page-allocator';

import { type Access, accessCode, isPageFault } from './access';
import { inprocPageAllocatorPort } from './inproc-page-allocator-port';
import { Mmu } from './mmu';

/** One figure: run() measures once and returns it. */
export interface Benchmark {
  readonly id: string;
  readonly unit: string;
  readonly goal?: { readonly op: '>=' | '<='; readonly value: number };
  run(): number | Promise<number>;
}

const USER_VA = 0x7f0000000000;

async function setup(pages: number): Promise<{ mmu: Mmu; asid: number }> {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 256 * 2 ** 20 });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 1 });
  const asid = await mmu.createAddressSpace();
  const pfns = pa.allocPagesBulk(GFP.HIGHUSER, 0, pages);
  await mmu.mapPages(asid, USER_VA, pfns, mmu.profile.prot.PAGE_SHARED);
  mmu.switchTo(0, asid);
  return { mmu, asid };
}

/** Translations per second over `pages` pages, touched round-robin. */
function measure(mmu: Mmu, pages: number, iterations: number): number {
  const acc = accessCode('read', true);
  let sink = 0;
  for (let i = 0; i < Math.min(iterations, 100_000); i++)
    sink += mmu.translate(0, USER_VA + (i % pages) * 4096, acc); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += mmu.translate(0, USER_VA + (i % pages) * 4096 + 8, acc);
  const ns = Number(process.hrtime.bigint() - t0);
  if (isPageFault(sink) && sink < -1e18) throw new Error('unreachable'); // keep `sink` alive
  return iterations / (ns / 1e9);
}

export const benchmarks: readonly Benchmark[] = [
  {
    id: 'mmu.tlb_hit_translations_per_s',
    unit: 'translations/s',
    goal: { op: '>=', value: 20_000_000 },
    async run() {
      // 32 pages fit the default 64-entry 4-way TLB: every translation after warm-up hits
      const { mmu } = await setup(32);
      return measure(mmu, 32, 5_000_000);
    },
  },
  {
    id: 'mmu.walk_translations_per_s',
    unit: 'translations/s',
    goal: { op: '>=', value: 2_000_000 },
    async run() {
      // 4096 pages round-robin through a 64-entry TLB: every translation misses and walks 4 levels
      const { mmu } = await setup(4096);
      const figure = measure(mmu, 4096, 1_000_000);
      const s = mmu.tlbStats(0);
      if (s.hits > s.misses / 100)
        throw new Error(`walk benchmark hit the TLB (${s.hits} hits, ${s.misses} misses)`);
      return figure;
    },
  },
  {
    id: 'mmu.access_batch_accesses_per_s',
    unit: 'accesses/s',
    // the access stream of the service must carry hundreds of thousands of accesses per second
    goal: { op: '>=', value: 300_000 },
    async run() {
      const { mmu } = await setup(256);
      const batch: Access[] = [];
      for (let i = 0; i < 4096; i++) {
        const va = USER_VA + (i % 256) * 4096 + 16;
        batch.push(
          i % 2 === 0
            ? { cpu: 0, va, op: 'write', user: true, data: new Uint8Array(8) }
            : { cpu: 0, va, op: 'read', user: true, length: 8 },
        );
      }
      await mmu.accessBatch(batch); // warm-up
      const rounds = 40;
      const t0 = process.hrtime.bigint();
      for (let r = 0; r < rounds; r++) await mmu.accessBatch(batch);
      const ns = Number(process.hrtime.bigint() - t0);
      return (rounds * batch.length) / (ns / 1e9);
    },
  },
];
