import type { DeviceDrivers } from '@pagemesh/device-drivers';
import type { Errno } from '@pagemesh/uapi';
import type { DeviceDriversPort, SyscallResult } from '../ports';

const result = (r: { errno: Errno | null }): SyscallResult => (r.errno ? { errno: r.errno } : { ret: 0 });

/** The orchestrator's device-drivers port over DeviceDrivers in the same process. */
export function inprocDeviceDriversPort(dd: DeviceDrivers): DeviceDriversPort {
  return {
    loadModule: async (name) => result(await dd.loadModule(name)),
    unloadModule: async (name) => result(await dd.unloadModule(name)),
    mknod: async (path, major, minor) => result(await dd.mknod(path, major, minor)),
    unlink: async (path) => result(await dd.unlink(path)),
  };
}
