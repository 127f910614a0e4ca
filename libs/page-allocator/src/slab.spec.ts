import { calculateSlabOrder, fls } from './slab';

describe('SLUB slab geometry (calculate_order)', () => {
  const sizes = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];

  it('gives the familiar /proc/slabinfo orders with 2 CPUs (min_objects 12)', () => {
    expect(sizes.map((s) => calculateSlabOrder(s, 2))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 3]);
  });

  it('asks for more objects per slab on bigger machines (min_objects = 4 * (fls(nr_cpus) + 1))', () => {
    expect(fls(1)).toBe(1);
    expect(fls(64)).toBe(7);
    expect(calculateSlabOrder(256, 64)).toBe(1); // 32 objects of 256 bytes need 2 pages
    expect(calculateSlabOrder(256, 1)).toBe(0);
  });
});
