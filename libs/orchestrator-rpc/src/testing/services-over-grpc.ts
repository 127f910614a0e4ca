import { DeviceDrivers } from '@pagemesh/device-drivers';
import { deviceDriversServiceOptions, grpcDriverPorts } from '@pagemesh/device-drivers-rpc';
import { bootMmuOverGrpc, mmuServiceOptions } from '@pagemesh/mmu-rpc';
import { bootMachine } from '@pagemesh/page-allocator';
import { pageAllocatorHandlers } from '@pagemesh/page-allocator-rpc';
import {
  DeviceDriversServiceClient,
  MmuServiceClient,
  PageAllocatorServiceClient,
  PageAllocatorServiceService,
  VmaManagerServiceService,
  protoFile,
  protoIncludeDir,
} from '@pagemesh/proto';
import type { MachineSpec } from '@pagemesh/replay';
import {
  CallerFigures,
  ClientPool,
  parseServiceConfig,
  promisifyUnary,
  startService,
  type RunningService,
  type StartServiceOptions,
} from '@pagemesh/service-kit';
import { Machine, ORACLE_MACHINE, VmaManager } from '@pagemesh/vma-manager';
import {
  grpcDeviceFilesPort,
  grpcMmuPort,
  grpcPagesPort,
  vmaManagerHandlers,
} from '@pagemesh/vma-manager-rpc';
import type { RemoteAddresses } from '../remote-stack';
import type { ServedMachine } from './in-process-services';

const TEST_ARGS = ['--port=0', '--metrics-port=off'];

/** A machine served as serveMachineOverGrpc serves it, and each service's own server. */
export interface ServedOverGrpc extends ServedMachine {
  readonly services: Readonly<Record<keyof RemoteAddresses, RunningService>>;
}

/**
 * The four lower services booted for `machine` and served in this process on ephemeral ports,
 * each calling the ones below it over gRPC as the apps do (the mmu boots against the page
 * allocator's service, the drivers and the vma-manager reach the mmu and the page allocator
 * through their clients): the stack of local processes, without the bundles. Each service's
 * clients record into a table of its own, which its BoundaryService answers, so that two machines
 * served in one test process keep their figures apart.
 */
export async function serveMachineOverGrpc(machine: MachineSpec): Promise<ServedOverGrpc> {
  const running: RunningService[] = [];
  const pools: ClientPool[] = [];
  const stop = async () => {
    for (const pool of pools.splice(0)) pool.close();
    for (const s of running.splice(0).reverse()) await s.shutdown();
  };
  const serve = async (options: StartServiceOptions, outgoingCalls: CallerFigures) => {
    const s = await startService({ ...options, outgoingCalls });
    running.push(s);
    return s;
  };
  const poolOf = (outgoingCalls: CallerFigures) => {
    const pool = new ClientPool({ outgoingCalls });
    pools.push(pool);
    return pool;
  };
  const config = (name: string) => parseServiceConfig(name, { argv: TEST_ARGS, env: {} });
  try {
    const pa = bootMachine({ arch: machine.arch, memBytes: machine.memory, nrCpus: machine.cpus });
    const paCalls = new CallerFigures('page-allocator');
    const paService = await serve(
      {
        name: 'page-allocator',
        protoFiles: [protoFile('pageAllocator')],
        includeDirs: [protoIncludeDir()],
        services: [{ definition: PageAllocatorServiceService, implementation: pageAllocatorHandlers(pa) }],
        config: config('page-allocator'),
      },
      paCalls,
    );

    const mmuCalls = new CallerFigures('mmu');
    const mmu = await bootMmuOverGrpc(paService.address, poolOf(mmuCalls), {
      cpus: machine.cpus,
      // the 4 KiB TLB of each CPU, 4-way, as the mmu's --tlb-entries boots it
      tlb: { small: { entries: machine.tlbEntries, ways: 4 } },
    });
    const mmuService = await serve(mmuServiceOptions(mmu, config('mmu')), mmuCalls);

    const ddCalls = new CallerFigures('device-drivers');
    const ddPool = poolOf(ddCalls);
    const dd = await DeviceDrivers.create(
      grpcDriverPorts(
        ddPool.client(paService.address, PageAllocatorServiceClient),
        ddPool.client(mmuService.address, MmuServiceClient),
      ),
    );
    const ddService = await serve(deviceDriversServiceOptions(dd, config('device-drivers')), ddCalls);

    const vmCalls = new CallerFigures('vma-manager');
    const vmPool = poolOf(vmCalls);
    const paClient = vmPool.client(paService.address, PageAllocatorServiceClient);
    const mmuClient = vmPool.client(mmuService.address, MmuServiceClient);
    const info = await promisifyUnary(paClient, 'getMachine')({});
    const vm = await VmaManager.create(
      {
        mmu: grpcMmuPort(mmuClient),
        pages: grpcPagesPort(paClient),
        files: grpcDeviceFilesPort(vmPool.client(ddService.address, DeviceDriversServiceClient), mmuClient),
      },
      {
        machine: new Machine({
          ...ORACLE_MACHINE,
          totalRamPages: Number(info.zones.reduce((sum, z) => sum + z.managedPages, 0n)),
        }),
      },
    );
    const vmService = await serve(
      {
        name: 'vma-manager',
        protoFiles: [protoFile('vmaManager')],
        includeDirs: [protoIncludeDir()],
        services: [{ definition: VmaManagerServiceService, implementation: vmaManagerHandlers(vm) }],
        config: config('vma-manager'),
      },
      vmCalls,
    );
    const services = {
      'page-allocator': paService,
      mmu: mmuService,
      'device-drivers': ddService,
      'vma-manager': vmService,
    };
    return {
      addresses: {
        'page-allocator': paService.address,
        mmu: mmuService.address,
        'device-drivers': ddService.address,
        'vma-manager': vmService.address,
      },
      services,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
