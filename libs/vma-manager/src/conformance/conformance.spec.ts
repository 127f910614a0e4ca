import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runConformance } from './run-conformance';
import { runScript } from './runner';

const FIXTURES = join(__dirname, 'fixtures');

/**
 * Cases the model cannot run yet, with the reason. Every other fixture case must pass at tier 2;
 * a case that becomes supported without being listed here fails this test until it passes.
 */
const UNSUPPORTED: Record<string, string> = {
  demand_file_fault_around: 'file',
  demand_file_shared_write: 'file',
  demand_read_zero_page: 'touch: page-fault path not wired',
  demand_write_fault: 'touch: page-fault path not wired',
  file_adjacent_merge: 'file',
  file_sigbus_past_eof: 'file',
  fork_cow_private: 'touch / fork-touch: page-fault path and fork not wired',
  fork_shared_anon: 'touch / fork-touch: page-fault path and fork not wired',
  fork_zero_page: 'touch / fork-touch: page-fault path and fork not wired',
  growsdown_stack_gap: 'touch: page-fault path (stack growth) not wired',
  large_1g_untouched: 'touch: page-fault path not wired',
  large_thp_madvise: 'touch; also needs huge pages',
  madvise_dontneed_file_private: 'file',
  madvise_dontneed_shared: 'touch: page-fault path not wired',
  madvise_free: 'touch: page-fault path not wired',
  madvise_populate: 'MADV_POPULATE_* faults pages in: residency needs the mmu',
  memfd_shared: 'memfd',
  merge_anon_vma_conflict: 'touch: page-fault path not wired',
  merge_read_faulted_then_fresh: 'touch: page-fault path not wired',
  mlock_split: 'mlock populates: residency needs the mmu',
  mmap_fixed_replace: 'touch: page-fault path not wired',
  mprotect_none_keeps_pages: 'touch: page-fault path not wired',
  mprotect_split_three_touched: 'touch: page-fault path not wired',
  mremap_dontunmap: 'touch: page-fault path not wired',
  mremap_file_shrink_grow: 'file',
  mremap_grow_in_place: 'touch: page-fault path not wired',
  mremap_move_fixed: 'touch: page-fault path not wired',
  mremap_move_merge_touched: 'touch: page-fault path not wired',
  mremap_multi_vma_move: 'touch: page-fault path not wired',
  mremap_shared_duplicate: 'touch: page-fault path not wired',
  nomerge_vm_account: 'touch: page-fault path not wired',
};

describe('conformance with the Linux 6.18 oracle (fixtures copied from ../shared/oracle)', () => {
  const report = runConformance(FIXTURES, { tier: 2, allDiffs: true });

  it('covers every fixture case', () => {
    const names = readdirSync(join(FIXTURES, 'cases')).filter((f) => f.endsWith('.ops'));
    expect(report.cases).toHaveLength(names.length);
    expect(report.passed + report.failed + report.unsupported).toBe(names.length);
  });

  for (const c of report.cases) {
    if (UNSUPPORTED[c.name]) {
      it(`${c.name} is unsupported for now (${UNSUPPORTED[c.name]})`, () => {
        expect(c.status).toBe('unsupported');
      });
    } else {
      it(`${c.name} passes at tier 2`, () => {
        expect({ status: c.status, reason: c.reason, diffs: c.diffs }).toEqual({
          status: 'passed',
          reason: undefined,
          diffs: [],
        });
      });
    }
  }

  it('prints the passing cases byte for byte as vmtrace does', () => {
    for (const c of report.cases.filter((x) => x.status === 'passed')) {
      const ops = readFileSync(join(FIXTURES, 'cases', `${c.name}.ops`), 'utf8');
      const expected = readFileSync(join(FIXTURES, 'expected', `${c.name}.jsonl`), 'utf8');
      expect(
        runScript(ops)
          .lines.map((l) => l + '\n')
          .join(''),
      ).toBe(expected);
    }
  });
});
