import { bootInprocStack, builtinWorkload, comparableReport, replayWorkload } from '@pagemesh/replay';
import { grpcStackFactory, machineServiceArgs, type StartServices } from './grpc-stack';
import { serveMachineInProcess } from './testing/in-process-services';

/** `--name=value` of a service's flags. */
function flag(args: readonly string[] | undefined, name: string): string {
  const found = args?.find((a) => a.startsWith(`--${name}=`));
  if (!found) throw new Error(`no --${name} in ${JSON.stringify(args)}`);
  return found.slice(name.length + 3);
}

/**
 * Services served over gRPC in this process (ephemeral ports), booted from the flags the factory
 * gives: what the launcher does with processes, without the bundles.
 */
function inProcessServices(log: { args: unknown[]; stopped: number }): StartServices {
  return async (serviceArgs) => {
    log.args.push(serviceArgs);
    const paArgs = serviceArgs['page-allocator'];
    const served = await serveMachineInProcess({
      arch: flag(paArgs, 'arch') as 'x86_64' | 'x86',
      memory: Number(flag(paArgs, 'mem')),
      cpus: Number(flag(paArgs, 'cpus')),
      tlbEntries: Number(flag(serviceArgs.mmu, 'tlb-entries')),
      quantum: 1,
    });
    expect(flag(serviceArgs.mmu, 'cpus')).toBe(flag(paArgs, 'cpus'));
    return {
      addresses: { ...served.addresses, orchestrator: '127.0.0.1:1' },
      stop: async () => {
        await served.stop();
        log.stopped++;
      },
    };
  };
}

describe('grpcStackFactory: the replay ports over the services', () => {
  jest.setTimeout(60_000);

  it("gives the machine's flags to the services (page-allocator arch/mem/cpus, mmu cpus and the TLB)", () => {
    expect(
      machineServiceArgs({ arch: 'x86', memory: 64 * 2 ** 20, cpus: 3, tlbEntries: 32, quantum: 1 }),
    ).toEqual({
      'page-allocator': ['--arch=x86', `--mem=${64 * 2 ** 20}`, '--cpus=3'],
      mmu: ['--cpus=3', '--tlb-entries=32'],
    });
  });

  it.each(['lab-mmap', 'demand-paging', 'fork-cow'])(
    '%s over gRPC: every expectation met, the in-process answers, and close() stops the services',
    async (name) => {
      const workload = builtinWorkload(name);
      if (!workload) throw new Error(name);
      const log = { args: [] as unknown[], stopped: 0 };
      const grpc = await replayWorkload(workload, grpcStackFactory(inProcessServices(log)), {});
      expect(grpc.failures).toEqual([]);
      expect(grpc.ok).toBe(true);
      expect(grpc.transport).toBe('grpc');
      expect(log.args).toEqual([machineServiceArgs(workload.machine)]);
      expect(log.stopped).toBe(1);
      const inproc = await replayWorkload(workload, bootInprocStack, {});
      expect(comparableReport(grpc)).toEqual(comparableReport(inproc));
    },
  );

  it('device files through the vma-manager port: results in order with the memory syscalls, errors as values, a bad pid refused', async () => {
    const workload = builtinWorkload('lab-mmap');
    if (!workload) throw new Error('lab-mmap');
    const stack = await grpcStackFactory(inProcessServices({ args: [], stopped: 0 }))(workload.machine);
    try {
      expect(await stack.devices.loadModule('kmmap')).toEqual({ ret: 0 });
      expect(await stack.devices.mknod('/dev/mymmap', 42, 0)).toEqual({ ret: 0 });
      const { pid } = await stack.vma.createProcess('mmap-test');
      const PAGE = 4096;
      const results = await stack.vma.syscalls(pid, [
        { call: 'open', path: '/dev/mymmap', flags: 2 },
        { call: 'mmap', addr: 0, length: 16 * PAGE, prot: 1, flags: 1, fd: 0, offset: 0 },
        { call: 'create-file', name: 'f', size: PAGE, readOnly: false, memfd: false },
        { call: 'read', fd: 0, length: 4 },
        { call: 'read', fd: 9, length: 4 },
        { call: 'write', fd: 9, data: Uint8Array.of(1) },
        { call: 'close', fd: 9 },
      ]);
      expect(results[0]).toEqual({ ret: 0 });
      expect(results[1]).toEqual({ ret: expect.any(Number) });
      expect(results.slice(2)).toEqual([
        { errno: 'ENOSYS' },
        { ret: 4, data: Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd) },
        { errno: 'EBADF' },
        { errno: 'EBADF' },
        { errno: 'EBADF' },
      ]);
      expect(await stack.vma.proc(pid, '/proc/my-proc-entry')).toBe(`${16 * PAGE} mmap-test\n`);
      expect(await stack.vma.proc(pid, '/proc/no-such-entry')).toBeNull();
      await expect(stack.vma.syscalls(4242, [{ call: 'close', fd: 0 }])).rejects.toThrow(/pid/);
      await expect(stack.vma.proc(4242, '/proc/my-proc-entry')).rejects.toThrow(/NOT_FOUND|no such process/);
      await stack.vma.exit(pid);
      expect(await stack.devices.unloadModule('kmmap')).toEqual({ ret: 0 });
    } finally {
      await stack.close();
    }
  });
});
