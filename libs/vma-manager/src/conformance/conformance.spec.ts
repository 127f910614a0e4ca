import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runConformance, type ConformanceReport } from './run-conformance';
import { runScript } from './runner';

const FIXTURES = join(__dirname, 'fixtures');

/**
 * Cases the model cannot run yet, with the reason. Every other fixture case must pass at tier 2;
 * a case that becomes supported without being listed here fails this test until it passes.
 */
const UNSUPPORTED: Record<string, string> = {
  demand_file_fault_around: 'file',
  demand_file_shared_write: 'file',
  file_adjacent_merge: 'file',
  file_sigbus_past_eof: 'file',
  madvise_dontneed_file_private: 'file',
  memfd_shared: 'memfd',
  mremap_file_shrink_grow: 'file',
};

/** Cases that run but are known to differ, with the reason. */
const KNOWN_FAILING: Record<string, string> = {};

describe('conformance with the Linux 6.18 oracle (fixtures copied from ../shared/oracle)', () => {
  let report: ConformanceReport;
  beforeAll(async () => {
    report = await runConformance(FIXTURES, { tier: 2, allDiffs: true });
  }, 180_000);
  const names = readdirSync(join(FIXTURES, 'cases'))
    .filter((f) => f.endsWith('.ops'))
    .map((f) => f.slice(0, -4))
    .sort();
  const byName = (name: string) => {
    const c = report.cases.find((x) => x.name === name);
    if (!c) throw new Error(`no result for ${name}`);
    return c;
  };

  it('covers every fixture case', () => {
    expect(report.cases).toHaveLength(names.length);
    expect(report.passed + report.failed + report.unsupported).toBe(names.length);
  });

  for (const name of names) {
    if (UNSUPPORTED[name]) {
      it(`${name} is unsupported for now (${UNSUPPORTED[name]})`, () => {
        expect(byName(name).status).toBe('unsupported');
      });
    } else if (KNOWN_FAILING[name]) {
      it(`${name} still differs (${KNOWN_FAILING[name]})`, () => {
        expect(byName(name).status).toBe('failed');
      });
    } else {
      it(`${name} passes at tier 2`, () => {
        const c = byName(name);
        expect({ status: c.status, reason: c.reason, diffs: c.diffs }).toEqual({
          status: 'passed',
          reason: undefined,
          diffs: [],
        });
      });
    }
  }

  it('prints VMA-only cases byte for byte as vmtrace does (tier 3 included)', async () => {
    for (const name of [
      'mmap_errors',
      'mseal',
      'mprotect_errors',
      'shared_anon_no_merge',
      'merge_adjacent_anon',
    ]) {
      const ops = readFileSync(join(FIXTURES, 'cases', `${name}.ops`), 'utf8');
      const expected = readFileSync(join(FIXTURES, 'expected', `${name}.jsonl`), 'utf8');
      const run = await runScript(ops, { pages: 'none' });
      expect(run.lines.map((l) => l + '\n').join('')).toBe(expected);
    }
  });

  it('without page tables, cases that need them are unsupported, never passed', async () => {
    const ops = readFileSync(join(FIXTURES, 'cases', 'demand_write_fault.ops'), 'utf8');
    const run = await runScript(ops, { pages: 'none' });
    expect(run.unsupported).toMatch(/touch/);
  });
});
