import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineServiceArgs, remoteStackFactory, type RemoteAddresses } from '@pagemesh/orchestrator-rpc';
import {
  BUILTIN_WORKLOADS,
  bootInprocStack,
  builtinWorkload,
  comparableReport,
  replayWorkload,
  runWorkload,
  type MachineSpec,
  type Stack,
  type Workload,
} from '@pagemesh/replay';
import { startLocalStack, type RunningStack } from '../stack/local-stack';
import { distDir } from './common';

const machineKey = (m: MachineSpec) =>
  `${m.arch} ${m.memory / 2 ** 20} MiB, ${m.cpus} CPUs, ${m.tlbEntries}-entry TLB`;

/** The built-ins grouped by machine, in registry order: one stack of services per machine. */
function byMachine(): [string, Workload[]][] {
  const groups = new Map<string, Workload[]>();
  for (const { name } of BUILTIN_WORKLOADS) {
    const w = builtinWorkload(name);
    if (!w) throw new Error(`no built-in workload ${name}`);
    const key = machineKey(w.machine);
    groups.set(key, [...(groups.get(key) ?? []), w]);
  }
  return [...groups];
}

/**
 * Every built-in over gRPC, on the services as local processes (the bundles of
 * dist/: node tools/build.mjs; npm test builds first). The services are started once per machine
 * and the workloads of that machine replayed one after the other on them, and on one in-process
 * machine in the same order: each must meet every expectation and give the same comparable report
 * on both (the same PFNs, /proc texts, TLB figures and calls), a used machine included.
 */
describe.each(byMachine())('the built-ins of the %s machine over gRPC', (_key, workloads) => {
  jest.setTimeout(150_000);
  let services: RunningStack;
  let addresses: RemoteAddresses;
  let inproc: Stack;

  beforeAll(async () => {
    const machine = workloads[0].machine;
    services = await startLocalStack({
      distDir: distDir(),
      logDir: mkdtempSync(join(tmpdir(), 'pagemesh-builtins-')),
      basePort: 0,
      only: ['page-allocator', 'mmu', 'device-drivers', 'vma-manager'],
      serviceArgs: machineServiceArgs(machine),
    });
    addresses = services.addresses;
    inproc = await bootInprocStack(machine);
  }, 60_000);

  afterAll(async () => {
    await inproc?.close();
    await services?.stop();
  });

  it.each(workloads.map((w) => [w.name, w] as const))(
    '%s: every expectation met, the in-process comparable report',
    async (_name, workload) => {
      const grpc = await replayWorkload(workload, remoteStackFactory(addresses, { reuse: true }), {});
      expect(grpc.failures).toEqual([]);
      expect(grpc.ok).toBe(true);
      const local = await runWorkload(workload, inproc, {});
      expect(local.ok).toBe(true);
      expect(comparableReport(grpc)).toEqual(comparableReport(local));
    },
  );
});
