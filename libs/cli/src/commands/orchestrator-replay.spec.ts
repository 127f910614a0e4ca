import { credentials } from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineServiceArgs } from '@pagemesh/orchestrator-rpc';
import { OrchestratorServiceClient, ReplayRequest, type ReplayResponse } from '@pagemesh/proto';
import { builtinWorkload } from '@pagemesh/replay';
import { startLocalStack } from '../stack/local-stack';
import { distDir } from './common';

/**
 * The orchestrator service as a process replays on the stack its flags name, as `pagemesh up`
 * and docker-compose start it (the bundles of dist/: node tools/build.mjs; npm test builds first).
 */
describe('OrchestratorService.Replay on the local stack', () => {
  jest.setTimeout(120_000);

  it('replays a built-in on the services below it and streams its progress and report', async () => {
    const workload = builtinWorkload('fork-cow');
    if (!workload) throw new Error('fork-cow');
    await using stack = await startLocalStack({
      distDir: distDir(),
      logDir: mkdtempSync(join(tmpdir(), 'pagemesh-orchestrator-replay-')),
      basePort: 0,
      serviceArgs: machineServiceArgs(workload.machine),
    });
    const client = new OrchestratorServiceClient(stack.addresses.orchestrator, credentials.createInsecure());
    try {
      const events = await new Promise<ReplayResponse[]>((resolve, reject) => {
        const out: ReplayResponse[] = [];
        const call = client.replay(
          ReplayRequest.fromPartial({ workload: { $case: 'builtin', value: 'fork-cow' } }),
        );
        call.on('data', (e: ReplayResponse) => out.push(e));
        call.on('error', reject);
        call.on('end', () => resolve(out));
      });
      expect(events.filter((e) => e.event?.$case === 'progress').length).toBeGreaterThan(0);
      const last = events[events.length - 1].event;
      if (last?.$case !== 'result') throw new Error(`the last event is ${last?.$case}`);
      expect(last.value).toEqual(expect.objectContaining({ ok: true, exitCode: 0, failures: [] }));
      expect(last.value.transport).toBe(
        `remote page-allocator=${stack.addresses['page-allocator']},mmu=${stack.addresses.mmu},` +
          `device-drivers=${stack.addresses['device-drivers']},vma-manager=${stack.addresses['vma-manager']}`,
      );
    } finally {
      client.close();
    }
  });
});
