import { DeviceDrivers, inprocDriverPorts } from '@pagemesh/device-drivers';
import { deviceDriversHandlers } from '@pagemesh/device-drivers-rpc';
import { Mmu, inprocPageAllocatorPort } from '@pagemesh/mmu';
import { mmuHandlers } from '@pagemesh/mmu-rpc';
import { bootMachine } from '@pagemesh/page-allocator';
import { pageAllocatorHandlers } from '@pagemesh/page-allocator-rpc';
import {
  DeviceDriversServiceClient,
  DeviceDriversServiceService,
  MmuServiceClient,
  MmuServiceService,
  PageAllocatorServiceService,
  VmaManagerServiceService,
  protoFile,
  protoIncludeDir,
} from '@pagemesh/proto';
import type { MachineSpec } from '@pagemesh/replay';
import { ClientPool, parseServiceConfig, startService, type RunningService } from '@pagemesh/service-kit';
import {
  Machine,
  ORACLE_MACHINE,
  VmaManager,
  inprocMmuPort as vmaMmuPort,
  inprocPagesPort as vmaPagesPort,
} from '@pagemesh/vma-manager';
import { grpcDeviceFilesPort, vmaManagerHandlers } from '@pagemesh/vma-manager-rpc';
import type { RemoteAddresses } from '../remote-stack';

/** Four services running for a test, and how to stop them. */
export interface ServedMachine extends AsyncDisposable {
  readonly addresses: RemoteAddresses;
  stop(): Promise<void>;
}

const TEST_ARGS = ['--port=0', '--metrics-port=off'];

/**
 * The four lower services booted for `machine` (as their flags would boot them) and served over
 * gRPC in this process on ephemeral ports: "services already running elsewhere" for tests, without
 * the bundles. Each service works on the domain objects below it, except the vma-manager's device
 * files, which go down the DAG as the vma-manager service sends them: over gRPC to the
 * device-drivers service, the driver's remap requests to the mmu service.
 */
export async function serveMachineInProcess(machine: MachineSpec): Promise<ServedMachine> {
  const pa = bootMachine({ arch: machine.arch, memBytes: machine.memory, nrCpus: machine.cpus });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), {
    cpus: machine.cpus,
    // the 4 KiB TLB of each CPU, 4-way, as the mmu's --tlb-entries boots it
    tlb: { small: { entries: machine.tlbEntries, ways: 4 } },
  });
  const dd = await DeviceDrivers.create(inprocDriverPorts(pa, mmu));
  const serve = (
    name: string,
    proto: Parameters<typeof protoFile>[0],
    definition: object,
    implementation: object,
  ) =>
    startService({
      name,
      protoFiles: [protoFile(proto)],
      includeDirs: [protoIncludeDir()],
      services: [{ definition: definition as never, implementation: implementation as never }],
      config: parseServiceConfig(name, { argv: TEST_ARGS, env: {} }),
    });
  const running: RunningService[] = [];
  const pool = new ClientPool();
  const stop = async () => {
    pool.close();
    for (const s of running.splice(0).reverse()) await s.shutdown();
  };
  try {
    running.push(
      await serve('page-allocator', 'pageAllocator', PageAllocatorServiceService, pageAllocatorHandlers(pa)),
    );
    running.push(await serve('mmu', 'mmu', MmuServiceService, mmuHandlers(mmu)));
    running.push(
      await serve('device-drivers', 'deviceDrivers', DeviceDriversServiceService, deviceDriversHandlers(dd)),
    );
    const vm = await VmaManager.create(
      {
        mmu: vmaMmuPort(mmu),
        pages: vmaPagesPort(pa),
        files: grpcDeviceFilesPort(
          pool.client(running[2].address, DeviceDriversServiceClient),
          pool.client(running[1].address, MmuServiceClient),
        ),
      },
      { machine: new Machine({ ...ORACLE_MACHINE, totalRamPages: pa.managedPages }) },
    );
    running.push(await serve('vma-manager', 'vmaManager', VmaManagerServiceService, vmaManagerHandlers(vm)));
  } catch (e) {
    await stop();
    throw e;
  }
  const [pageAllocator, mmuAddress, deviceDrivers, vmaManager] = running.map((s) => s.address);
  return {
    addresses: {
      'page-allocator': pageAllocator,
      mmu: mmuAddress,
      'device-drivers': deviceDrivers,
      'vma-manager': vmaManager,
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
