import fc from 'fast-check';
import { PAGE_SIZE } from '@pagemesh/uapi';
import { generatePattern } from './patterns';
import { deriveSeed, Prng } from './prng';

const spec = fc.record({
  pattern: fc.constantFrom('sequential' as const, 'strided' as const, 'uniform' as const, 'zipfian' as const),
  length: fc.integer({ min: 1, max: 64 * PAGE_SIZE }),
  count: fc.integer({ min: 1, max: 300 }),
  stride: fc.integer({ min: 1, max: 3 * PAGE_SIZE }),
  theta: fc.double({ min: 0.1, max: 2, noNaN: true }),
  writeRatio: fc.double({ min: 0, max: 1, noNaN: true }),
  seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
});

describe('generatePattern', () => {
  it('stays inside the range and gives the same accesses for the same seed', () => {
    fc.assert(
      fc.property(spec, (s) => {
        const a = generatePattern(s);
        const b = generatePattern(s);
        expect(a).toEqual(b);
        expect(a.offsets).toHaveLength(s.count);
        const outside = [...a.offsets].filter((off) => !Number.isInteger(off) || off < 0 || off >= s.length);
        expect(outside).toEqual([]);
      }),
    );
  });

  it('draws the same addresses whatever the write ratio', () => {
    fc.assert(
      fc.property(spec, fc.double({ min: 0, max: 1, noNaN: true }), (s, ratio) => {
        expect(generatePattern({ ...s, writeRatio: ratio }).offsets).toEqual(generatePattern(s).offsets);
      }),
    );
  });

  it('walks pages in order (sequential) and by stride (strided)', () => {
    const base = { length: 4 * PAGE_SIZE, count: 6, stride: 6144, theta: 1, writeRatio: 0, seed: 1 };
    expect([...generatePattern({ ...base, pattern: 'sequential' }).offsets]).toEqual([
      0, 4096, 8192, 12288, 0, 4096,
    ]);
    expect([...generatePattern({ ...base, pattern: 'strided' }).offsets]).toEqual([
      0, 6144, 12288, 2048, 8192, 14336,
    ]);
  });

  it('makes page 0 the hottest under zipfian, and spreads uniform accesses', () => {
    const base = {
      length: 64 * PAGE_SIZE,
      count: 20000,
      stride: PAGE_SIZE,
      theta: 1.2,
      writeRatio: 0,
      seed: 5,
    };
    const hist = (offs: Float64Array) => {
      const h = new Array<number>(64).fill(0);
      for (const o of offs) h[o / PAGE_SIZE]++;
      return h;
    };
    const z = hist(generatePattern({ ...base, pattern: 'zipfian' }).offsets);
    expect(z[0]).toBe(Math.max(...z));
    expect(z[0]).toBeGreaterThan(z[63] * 20);
    const u = hist(generatePattern({ ...base, pattern: 'uniform' }).offsets);
    expect(Math.min(...u)).toBeGreaterThan(20000 / 64 / 2);
  });
});

describe('Prng', () => {
  it('is reproducible and below(n) stays below n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
        const a = new Prng(seed);
        const b = new Prng(seed);
        for (let i = 0; i < 20; i++) {
          const x = a.below(n);
          expect(x).toBe(b.below(n));
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThan(n);
        }
      }),
    );
  });

  it('derives different seeds for different places', () => {
    expect(deriveSeed(1, 'p', 'w.yaml:3:5', 0)).toBe(deriveSeed(1, 'p', 'w.yaml:3:5', 0));
    expect(deriveSeed(1, 'p', 'w.yaml:3:5', 0)).not.toBe(deriveSeed(1, 'p', 'w.yaml:3:5', 1));
    expect(deriveSeed(1, 'p', 'w.yaml:3:5', 0)).not.toBe(deriveSeed(2, 'p', 'w.yaml:3:5', 0));
  });
});
