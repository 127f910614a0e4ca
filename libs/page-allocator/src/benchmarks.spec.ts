import { benchmarks } from './benchmarks';

describe('benchmarks', () => {
  it('exports the ids the bench runner expects, each with a unit', () => {
    expect(benchmarks.map((b) => b.id)).toEqual([
      'allocator.order0_alloc_free_per_s',
      'allocator.mixed_orders_per_s',
      'allocator.struct_page_bytes_per_page',
      'allocator.boot_64gib_ms',
    ]);
    for (const b of benchmarks) expect(b.unit).not.toBe('');
  });

  it('reports the real struct page figure', () => {
    const bytes = benchmarks.find((b) => b.id === 'allocator.struct_page_bytes_per_page');
    expect(bytes?.run()).toBe(16);
  });
});
