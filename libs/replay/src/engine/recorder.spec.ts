import { BoundaryRecorder, percentile } from './recorder';

describe('BoundaryRecorder', () => {
  it('counts calls, items (the array argument) and latency percentiles per method', async () => {
    let t = 0;
    const rec = new BoundaryRecorder(() => t);
    class Port {
      async batch(_pid: number, items: readonly number[]): Promise<number> {
        t += items.length;
        return items.length;
      }
      async one(): Promise<string> {
        t += 100;
        return 'x';
      }
    }
    const port = rec.wrap('a→b', new Port());
    expect(await port.batch(1, [1, 2, 3])).toBe(3);
    await port.batch(1, [1]);
    expect(await port.one()).toBe('x');
    await expect(
      rec.wrap('a→c', { fail: async () => Promise.reject(new Error('no')) }).fail(),
    ).rejects.toThrow('no');
    expect(rec.figures()).toEqual([
      { boundary: 'a→b', method: 'batch', calls: 2, items: 4, p50Ms: 1, p99Ms: 3 },
      { boundary: 'a→b', method: 'one', calls: 1, items: 1, p50Ms: 100, p99Ms: 100 },
      { boundary: 'a→c', method: 'fail', calls: 1, items: 1, p50Ms: 0, p99Ms: 0 },
    ]);
  });

  it('takes nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile([], 50)).toBe(0);
    expect(percentile([7], 99)).toBe(7);
  });
});
