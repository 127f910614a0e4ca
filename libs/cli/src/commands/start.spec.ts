import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../program';
import { captureIo } from '../testing/capture-io';
import { squeeze, worstHealth } from './start';

describe('squeeze', () => {
  it('counts runs of the same line and keeps the rest', () => {
    expect(squeeze(['matched', 'matched', 'matched', 'mmaped :10 MB', 'matched'])).toEqual([
      'matched  ×3',
      'mmaped :10 MB',
      'matched',
    ]);
    expect(squeeze([])).toEqual([]);
  });
});

describe('worstHealth', () => {
  const check = (vma: string) =>
    ['page-allocator', 'mmu', 'device-drivers', 'vma-manager', 'orchestrator'].map((name) => ({
      name: name as 'mmu',
      address: '127.0.0.1:1',
      status: name === 'vma-manager' ? vma : 'SERVING',
    }));

  it('says SERVING for a service only if every stack started had it serving', () => {
    const worst = worstHealth([check('SERVING'), check('NOT_SERVING'), check('SERVING')]);
    expect(worst.find((h) => h.name === 'vma-manager')?.status).toBe('NOT_SERVING');
    expect(worst.find((h) => h.name === 'mmu')?.status).toBe('SERVING');
    expect(worstHealth([]).every((h) => h.status === 'NOT_STARTED')).toBe(true);
  });
});

describe('pagemesh start --transport inproc', () => {
  jest.setTimeout(120_000);

  it('replays lab-mmap and mixed, prints the summary and what mmap-test printed, writes the report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagemesh-start-spec-'));
    const io = captureIo();
    const report = join(dir, 'report.md');
    expect(await runCli(['start', '--transport', 'inproc', '--report', report], io)).toBe(0);
    const text = io.lines.join('\n');
    expect(text).toMatch(/replay \(transport: inproc; services stopped\)/);
    expect(text).toMatch(/lab-mmap .* ok/);
    expect(text).toMatch(/mixed .* ok/);
    expect(text).toMatch(/what mmap-test printed/);
    expect(readFileSync(report, 'utf8')).toMatch(/^# lab-mmap/);
    expect(existsSync(join(dir, 'mixed', 'memory-map.svg'))).toBe(true);
  });
});
