import { formatDuration, ProgressBar } from './progress';

function stream(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, columns: 100, chunks, write: (c: string) => chunks.push(c) };
}

describe('ProgressBar', () => {
  it('draws done/total, percent, rate and ETA on a terminal', () => {
    let t = 0;
    const s = stream(true);
    const bar = new ProgressBar(s, { now: () => t, minIntervalMs: 0 });
    t = 2000;
    bar.update(500, 2000);
    expect(s.chunks).toHaveLength(1);
    const ESC = String.fromCharCode(0x1b);
    expect(s.chunks[0].startsWith('\r')).toBe(true);
    expect(s.chunks[0].endsWith(`${ESC}[K`)).toBe(true);
    expect(s.chunks[0].slice(1, -3)).toMatch(/^replay \[=+ +\] 500\/2000 25% 250 ops\/s ETA 0:06$/);
    bar.finish();
    expect(s.chunks[1]).toBe('\r\x1b[K');
  });

  it('is silent when the stream is not a terminal, or in JSON mode', () => {
    const pipe = stream(false);
    new ProgressBar(pipe).update(1, 2);
    const json = stream(true);
    const bar = new ProgressBar(json, { json: true });
    bar.update(1, 2);
    bar.finish();
    expect(pipe.chunks).toEqual([]);
    expect(json.chunks).toEqual([]);
    expect(bar.active).toBe(false);
  });

  it('redraws at most once per interval, but always at the end', () => {
    let t = 0;
    const s = stream(true);
    const bar = new ProgressBar(s, { now: () => t, minIntervalMs: 100 });
    bar.update(1, 10);
    t = 50;
    bar.update(2, 10);
    bar.update(10, 10);
    expect(s.chunks).toHaveLength(2);
  });

  it('formats durations', () => {
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(Number.NaN)).toBe('--:--');
  });
});
