import { benchmarks } from './benchmarks';

describe('benchmarks', () => {
  it('declares the in-process figures', () => {
    expect(benchmarks.map((b) => b.id)).toEqual([
      'mmu.tlb_hit_translations_per_s',
      'mmu.walk_translations_per_s',
      'mmu.access_batch_accesses_per_s',
    ]);
  });
});
