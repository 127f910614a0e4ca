import { median, runBenchmark } from './benchmark';

describe('median', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('runBenchmark', () => {
  it('warms up once, repeats, and compares the median with the goal', async () => {
    const figures = [100, 1, 7, 3];
    const result = await runBenchmark(
      { id: 'x', unit: 'ops/s', goal: { op: '>=', value: 5 }, run: () => figures.shift() ?? 0 },
      3,
    );
    expect(result.runs).toEqual([1, 7, 3]);
    expect(result.value).toBe(3);
    expect(result.meetsGoal).toBe(false);
  });
});
