import {
  bootInprocStack,
  builtinWorkload,
  comparableReport,
  replayWorkload,
  type Workload,
} from '@pagemesh/replay';
import { ClientPool } from '@pagemesh/service-kit';
import { RemoteStackError, machineDifferences, probeRemoteMachine, remoteStackFactory } from './remote-stack';
import { serveMachineInProcess } from './testing/in-process-services';

const workload = (name: string): Workload => {
  const w = builtinWorkload(name);
  if (!w) throw new Error(`no built-in workload ${name}`);
  return w;
};

describe('remoteStackFactory: the address-list transport over services already running', () => {
  jest.setTimeout(60_000);

  it('replays on a fresh machine with the in-process answers, then refuses the used machine', async () => {
    const w = workload('demand-paging');
    await using services = await serveMachineInProcess(w.machine);
    const pool = new ClientPool();
    const fresh = await probeRemoteMachine(services.addresses, pool);
    pool.close();
    expect(fresh).toEqual({
      arch: 'x86_64',
      memory: w.machine.memory,
      cpus: w.machine.cpus,
      tlbEntries: w.machine.tlbEntries,
      tlbLookups: 0,
    });

    const remote = await replayWorkload(w, remoteStackFactory(services.addresses), {});
    expect(remote.failures).toEqual([]);
    expect(remote.transport).toMatch(/^remote page-allocator=127\.0\.0\.1:\d+,mmu=/);
    const inproc = await replayWorkload(w, bootInprocStack, {});
    expect(comparableReport(remote)).toEqual(comparableReport(inproc));

    const again = replayWorkload(w, remoteStackFactory(services.addresses), {});
    await expect(again).rejects.toThrow(RemoteStackError);
    await expect(again).rejects.toThrow(/have run something since they booted .* restart them/);

    const reused = await replayWorkload(w, remoteStackFactory(services.addresses, { reuse: true }), {});
    expect(reused.failures).toEqual([]);
    expect(reused.transport).toMatch(/\(reused: not fresh\)$/);
  });

  it('refuses services booted for another machine, saying what differs and which flags match', async () => {
    const w = workload('mixed'); // 128 MiB, 4 CPUs
    await using services = await serveMachineInProcess(workload('fork-cow').machine); // 64 MiB, 2 CPUs
    const run = replayWorkload(w, remoteStackFactory(services.addresses), {});
    await expect(run).rejects.toThrow(
      /64 MiB of memory where the workload needs 128 MiB, 2 CPU\(s\) where the workload needs 4; start them with page-allocator --arch=x86_64 --mem=134217728 --cpus=4; mmu --cpus=4/,
    );
    // the same machine for a stack in containers (docker-compose.yml reads these)
    await expect(replayWorkload(w, remoteStackFactory(services.addresses), {})).rejects.toThrow(
      /\(docker-compose: PAGEMESH_ARCH=x86_64 PAGEMESH_MEM=134217728 PAGEMESH_CPUS=4 PAGEMESH_TLB_ENTRIES=\d+\)$/,
    );
  });

  it('lists every difference it can see', () => {
    const want = workload('mixed').machine;
    expect(
      machineDifferences(want, {
        arch: 'x86_64',
        memory: want.memory,
        cpus: want.cpus,
        tlbEntries: want.tlbEntries,
        tlbLookups: 9,
      }),
    ).toEqual([]);
    expect(
      machineDifferences(want, { arch: 'x86', memory: 2 ** 20 + 1, cpus: 1, tlbEntries: 16, tlbLookups: 0 }),
    ).toEqual([
      'arch x86 where the workload needs x86_64',
      '1048577 bytes of memory where the workload needs 128 MiB',
      '1 CPU(s) where the workload needs 4',
      `16 TLB entries per CPU where the workload needs ${want.tlbEntries}`,
    ]);
    // an mmu that does not say its TLB size is not refused for it
    expect(
      machineDifferences(want, {
        arch: 'x86_64',
        memory: want.memory,
        cpus: want.cpus,
        tlbEntries: 0,
        tlbLookups: 0,
      }),
    ).toEqual([]);
  });
});
