import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetMachineRequest, PageAllocatorServiceClient } from '@pagemesh/proto';
import { ClientPool, promisifyUnary } from '@pagemesh/service-kit';
import { runScript } from '@pagemesh/vma-manager';
import { startLocalStack, type RunningStack } from '../stack/local-stack';
import { distDir } from './common';
import { ServiceTargets } from './conform-service-target';

const A = '0x7e0000000000';

/** A script through every path of the target: syscalls, walks, fork-touch, a fork block, probes. */
const SCRIPT = `
mmap ${A} 0x8000 rw- private|anonymous|fixed_noreplace
touch ${A} 0x4000 w 7
touch ${A} 0x8000 r
mmap 0x7e0000010000 0x4000 rw- shared|anonymous|fixed_noreplace
touch 0x7e0000010000 0x4000 w 3
fork-touch ${A} 0x2000 w 9
fork-begin
munmap 0x7e0000004000 0x1000
touch ${A} 0x4000 r
fork-end
madvise ${A} 0x2000 DONTNEED
probe
`;

/**
 * Needs the bundles of dist/ (node tools/build.mjs; npm test builds first). The four services as
 * local processes on a small machine; each script runs on a process of the vma-manager service.
 */
describe('the conformance target on the vma-manager service', () => {
  jest.setTimeout(60_000);
  let stack: RunningStack;
  let pool: ClientPool;
  let targets: ServiceTargets;
  let freePages: () => Promise<bigint>;

  beforeAll(async () => {
    stack = await startLocalStack({
      distDir: distDir(),
      logDir: mkdtempSync(join(tmpdir(), 'pagemesh-conform-target-')),
      basePort: 0,
      only: ['page-allocator', 'mmu', 'device-drivers', 'vma-manager'],
      serviceArgs: { 'page-allocator': [`--mem=${256 * 2 ** 20}`] },
    });
    pool = new ClientPool();
    targets = new ServiceTargets(
      {
        vmaManager: stack.addresses['vma-manager'],
        mmu: stack.addresses.mmu,
        pageAllocator: stack.addresses['page-allocator'],
      },
      pool,
    );
    const getMachine = promisifyUnary(
      pool.client(stack.addresses['page-allocator'], PageAllocatorServiceClient),
      'getMachine',
    );
    freePages = async () => (await getMachine(GetMachineRequest.fromPartial({}))).freePages;
  });

  afterAll(async () => {
    targets?.close();
    pool?.close();
    await stack?.stop();
  });

  it('prints what the in-process model prints, and its processes give back every page', async () => {
    const before = await freePages();
    const remote = await runScript(SCRIPT, { newTarget: () => targets.newTarget() });
    const local = await runScript(SCRIPT);
    expect(remote.unsupported).toBeNull();
    expect(remote.lines).toHaveLength(12);
    expect(remote.lines).toEqual(local.lines);
    expect(await freePages()).toBe(before);
  });

  it('a case that stops inside a fork block exits the child as well as the parent', async () => {
    const before = await freePages();
    const script = `mmap ${A} 0x4000 rw- private|anonymous|fixed_noreplace
touch ${A} 0x4000 w 1
fork-begin
touch ${A} 0x4000 w 2
madvise ${A} 0x1000 GUARD_INSTALL
fork-end
`;
    const run = await runScript(script, { newTarget: () => targets.newTarget() });
    // the service refuses guard markers (no PTE markers in the page-table layer)
    expect(run.unsupported).toMatch(/line 5: madvise: .*guard markers/);
    expect(await freePages()).toBe(before);
  });
});
