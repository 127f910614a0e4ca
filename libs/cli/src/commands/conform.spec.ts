import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../program';
import { captureIo } from '../testing/capture-io';

const oracle = join(__dirname, '../../../vma-manager/src/conformance/fixtures');

/**
 * Cases that cross every path of the service target: demand paging (zero page, write faults,
 * fault-ahead over a large range), COW and shared memory across fork (fork-touch, fork-begin),
 * madvise, mremap moves, stack growth and its SIGSEGV, PROT_NONE, sealing, a case that still
 * differs (THP) and one the model cannot run (memfd).
 */
const OVER_THE_SERVICE = [
  'demand_read_zero_page',
  'demand_write_fault',
  'fork_cow_private',
  'fork_shared_anon',
  'merge_anon_vma_conflict',
  'madvise_dontneed_shared',
  'madvise_free',
  'mremap_move_fixed',
  'growsdown_stack_gap',
  'mprotect_none_keeps_pages',
  'mlock_split',
  'mseal',
  'large_thp_madvise',
  'memfd_shared',
];

interface JsonReport {
  transport: string;
  passed: number;
  failed: number;
  unsupported: number;
  cases: { name: string; status: string; reason?: string }[];
}

describe('pagemesh conform', () => {
  it('replays a case in-process and prints the summary line', async () => {
    const io = captureIo();
    expect(await runCli(['conform', oracle, '--case', 'mseal', 'munmap_errors'], io)).toBe(0);
    const text = io.lines.join('\n');
    expect(text).toMatch(/^ok +mseal$/m);
    expect(text).toMatch(/2 passed, 0 failed/);
  });

  it('gives the same report as JSON', async () => {
    const io = captureIo();
    expect(await runCli(['conform', oracle, '--case', 'mseal', '--json', '--tier', '3'], io)).toBe(0);
    const report = JSON.parse(io.lines[0]);
    expect(report).toMatchObject({ tier: 3, transport: 'inproc', passed: 1, failed: 0 });
  });

  it('refuses a directory that is not an oracle', async () => {
    const io = captureIo();
    expect(await runCli(['conform', __dirname], io)).toBe(1);
    expect(io.errors[0]).toMatch(/not an oracle directory/);
  });

  it('refuses an unknown tier', async () => {
    const io = captureIo();
    expect(await runCli(['conform', oracle, '--tier', '4'], io)).toBe(2);
  });

  /** Needs the bundles of dist/ (node tools/build.mjs; npm test builds first). */
  describe('--transport grpc: each case on a process of the vma-manager service', () => {
    jest.setTimeout(120_000);
    const dirs: string[] = [];
    afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

    const conform = async (transport: string) => {
      const out = mkdtempSync(join(tmpdir(), `conform-${transport}-`));
      dirs.push(out);
      const io = captureIo();
      const args = ['conform', oracle, '--tier', '3', '--json', '--out', out, '--transport', transport];
      const code = await runCli([...args, '--case', ...OVER_THE_SERVICE], io);
      return { code, out, report: JSON.parse(io.lines[io.lines.length - 1]) as JsonReport };
    };

    it('prints what in-process prints, byte for byte, and the same verdicts at tier 3', async () => {
      const grpc = await conform('grpc');
      const inproc = await conform('inproc');
      expect(grpc.report.transport).toBe('grpc');
      expect(grpc.report.cases).toEqual(inproc.report.cases);
      expect(grpc.report.cases.filter((c) => c.status === 'failed').map((c) => c.name)).toEqual([]);
      expect(grpc.report).toMatchObject({ passed: OVER_THE_SERVICE.length - 1, failed: 0, unsupported: 1 });
      expect(grpc.code).toBe(0);
      const files = readdirSync(inproc.out).sort();
      expect(readdirSync(grpc.out).sort()).toEqual(files);
      for (const f of files)
        expect([f, readFileSync(join(grpc.out, f), 'utf8')]).toEqual([
          f,
          readFileSync(join(inproc.out, f), 'utf8'),
        ]);
    });
  });
});
