import { benchmarks } from './benchmarks';

describe('benchmarks', () => {
  it('lists the figures this library reports', () => {
    expect(benchmarks.map((b) => [b.id, b.unit])).toEqual([
      ['drivers.device_mmap_access_per_s', 'accesses/s'],
    ]);
  });

  it('device_mmap_access_per_s runs once and yields a positive figure', async () => {
    const value = await benchmarks[0].run();
    expect(Number.isFinite(value) && value > 0).toBe(true);
  });
});
