import {
  bootInprocStack,
  builtinWorkload,
  comparableReport,
  replayWorkload,
  type Workload,
} from '@pagemesh/replay';
import { runCli } from '../program';
import { captureIo } from '../testing/capture-io';
import { localGrpcStackFactory } from './replay';

/** Needs the bundles of dist/ (node tools/build.mjs; npm test builds first). */
describe('pagemesh replay --transport grpc (the services as local processes)', () => {
  jest.setTimeout(120_000);

  const workload = (name: string): Workload => {
    const w = builtinWorkload(name);
    if (!w) throw new Error(`no built-in workload ${name}`);
    return w;
  };

  it('replays lab-mmap, demand-paging and fork-cow over gRPC with every expectation met', async () => {
    const io = captureIo();
    expect(
      await runCli(['replay', 'lab-mmap', 'demand-paging', 'fork-cow', '--transport', 'grpc', '--json'], io),
    ).toBe(0);
    const reports = io.lines.map(
      (l) => JSON.parse(l) as { ok: boolean; transport: string; failures: unknown[] },
    );
    expect(reports).toHaveLength(3);
    for (const r of reports) {
      expect(r.failures).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.transport).toBe('grpc');
    }
  });

  // lab-mmap: device files through the vma-manager, device-drivers and mmu services as processes
  it.each(['lab-mmap', 'demand-paging', 'fork-cow'])(
    '%s gives the same comparable report in-process and over gRPC (PFNs, /proc texts, TLB figures)',
    async (name) => {
      const inproc = await replayWorkload(workload(name), bootInprocStack, {});
      const grpc = await replayWorkload(
        workload(name),
        localGrpcStackFactory({ progress: () => undefined }),
        {},
      );
      expect(inproc.transport).toBe('inproc');
      expect(grpc.transport).toBe('grpc');
      expect(comparableReport(grpc)).toEqual(comparableReport(inproc));
    },
  );
});
