import { DeviceDrivers, inprocDriverPorts } from '@pagemesh/device-drivers';
import { Mmu, inprocPageAllocatorPort } from '@pagemesh/mmu';
import { bootMachine } from '@pagemesh/page-allocator';
import {
  Machine,
  ORACLE_MACHINE,
  VmaManager,
  inprocMmuPort as vmaMmuPort,
  inprocPagesPort as vmaPagesPort,
} from '@pagemesh/vma-manager';
import { BoundaryRecorder } from './engine/recorder';
import { inprocDeviceDriversPort } from './inproc/device-drivers-port';
import { inprocDeviceFilesPort } from './inproc/device-files-port';
import { inprocMmuPort } from './inproc/mmu-port';
import { inprocPageAllocatorView } from './inproc/page-allocator-port';
import { inprocVmaManagerPort } from './inproc/vma-manager-port';
import type { Stack, StackFactory } from './ports';
import type { MachineSpec } from './workload/model';

/** The 4 KiB TLB is 4-way (the mmu's default geometry); the workload gives its size. */
const TLB_WAYS = 4;

/**
 * The `inproc` transport: the domain libraries wired directly, no gRPC. The page allocator boots
 * the machine's RAM, the mmu its CPUs and TLBs, the device drivers and the vma-manager's process
 * table sit on them through their in-process port adapters (the process table reaches device
 * files through the device drivers). The calls between the services are
 * measured like the orchestrator's (vma-manager→mmu, mmu→page-allocator, ...).
 */
export const bootInprocStack: StackFactory = async (machine: MachineSpec): Promise<Stack> => {
  const inner = new BoundaryRecorder();
  const pa = bootMachine({ arch: machine.arch, memBytes: machine.memory, nrCpus: machine.cpus });
  const mmu = await Mmu.boot(inner.wrap('mmu→page-allocator', inprocPageAllocatorPort(pa)), {
    cpus: machine.cpus,
    tlb: { small: { entries: machine.tlbEntries, ways: TLB_WAYS } },
  });
  const driverPorts = inprocDriverPorts(pa, mmu);
  const dd = await DeviceDrivers.create({
    pageAllocator: inner.wrap('device-drivers→page-allocator', driverPorts.pageAllocator),
    mmu: inner.wrap('device-drivers→mmu', driverPorts.mmu),
  });
  const vm = await VmaManager.create(
    {
      mmu: inner.wrap('vma-manager→mmu', vmaMmuPort(mmu)),
      pages: inner.wrap('vma-manager→page-allocator', vmaPagesPort(pa)),
      files: inner.wrap('vma-manager→device-drivers', inprocDeviceFilesPort(dd, mmu)),
    },
    // overcommit and friends see this machine's RAM (totalram_pages), the oracle's sysctls
    { machine: new Machine({ ...ORACLE_MACHINE, totalRamPages: pa.managedPages }) },
  );
  return {
    transport: 'inproc',
    vma: inprocVmaManagerPort(vm),
    mmu: inprocMmuPort(mmu),
    pages: inprocPageAllocatorView(pa),
    devices: inprocDeviceDriversPort(dd),
    innerBoundaries: async () => inner.figures(),
    close: async () => undefined,
  };
};
