import { join } from 'node:path';
import { runCli } from '../program';
import { captureIo } from '../testing/capture-io';

/**
 * The kernel oracle over gRPC: every public case the in-process test runs, each on a process of
 * the vma-manager service (page allocator, mmu, device drivers and vma-manager as service
 * processes started from the build in dist/), compared at tier 2 and the same number passing as
 * in-process. Cases the model does not support yet (files,
 * memfd) stay unsupported.
 */
const oracle = join(__dirname, '../../../vma-manager/src/conformance/fixtures');

describe('pagemesh conform --transport grpc', () => {
  jest.setTimeout(180_000);

  it('passes every supported oracle case', async () => {
    const io = captureIo();
    const code = await runCli(['conform', oracle, '--transport', 'grpc', '--json'], io);
    const report = JSON.parse(io.lines[io.lines.length - 1]);
    const failed = report.cases
      .filter((c: { status: string }) => c.status === 'failed')
      .map((c: { name: string }) => c.name);
    expect(failed).toEqual([]);
    expect(report.passed).toBe(38);
    expect(report.transport).toBe('grpc');
    expect(code).toBe(0);
  });
});
