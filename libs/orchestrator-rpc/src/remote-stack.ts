import { Arch, MmuServiceClient, PageAllocatorServiceClient, type GetMachineResponse } from '@pagemesh/proto';
import type { MachineSpec, Stack, StackFactory } from '@pagemesh/replay';
import { ClientPool, promisifyUnary } from '@pagemesh/service-kit';
import { grpcStack, type StackServiceName } from './grpc-stack';
import { fetchInnerCalls } from './inner-boundaries';

/** The four services a replay calls (the orchestrator is the caller: it needs no address). */
export type LowerServiceName = Exclude<StackServiceName, 'orchestrator'>;
export const LOWER_SERVICES: readonly LowerServiceName[] = [
  'page-allocator',
  'mmu',
  'device-drivers',
  'vma-manager',
];
export type RemoteAddresses = Readonly<Record<LowerServiceName, string>>;

/** What the running services tell of their machine, and whether it has run anything since boot. */
export interface RemoteMachine {
  readonly arch: MachineSpec['arch'] | 'unknown';
  readonly memory: number;
  /** The mmu's CPUs (one TLB each). */
  readonly cpus: number;
  /** Entries of each CPU's 4 KiB TLB (0: an mmu that does not say). */
  readonly tlbEntries: number;
  /** TLB lookups (hits + misses) of every CPU since boot: a fresh machine has made none. */
  readonly tlbLookups: number;
}

/**
 * Thrown when services already running cannot replay a workload as its machine says: they were
 * booted for another machine, or have run something since they booted (`reason`).
 */
export class RemoteStackError extends Error {
  constructor(
    readonly reason: 'machine-mismatch' | 'not-fresh',
    message: string,
  ) {
    super(message);
    this.name = 'RemoteStackError';
  }
}

export interface RemoteStackOptions {
  /**
   * Replay even when the services have run something since they booted. Expectations of a
   * well-formed workload still hold, but PFNs, TLB figures and /proc texts then differ from a
   * fresh run (the services have no reset: a clean machine is a restarted one).
   */
  readonly reuse?: boolean;
}

const ARCH_NAMES: Readonly<Partial<Record<Arch, MachineSpec['arch']>>> = {
  [Arch.ARCH_X86_64]: 'x86_64',
  [Arch.ARCH_X86]: 'x86',
};

/** The machine of the services at these addresses: page-allocator GetMachine, mmu GetPagingInfo and TLB counters. */
export async function probeRemoteMachine(
  addresses: RemoteAddresses,
  pool: ClientPool,
): Promise<RemoteMachine> {
  const pa = pool.client(addresses['page-allocator'], PageAllocatorServiceClient);
  const mmu = pool.client(addresses.mmu, MmuServiceClient);
  const m: GetMachineResponse = await promisifyUnary(pa, 'getMachine')({});
  const paging = await promisifyUnary(mmu, 'getPagingInfo')({});
  const tlbStats = promisifyUnary(mmu, 'getTlbStats');
  let tlbLookups = 0;
  for (let cpu = 0; cpu < paging.cpus; cpu++) {
    const s = await tlbStats({ cpu });
    tlbLookups += Number(s.hits + s.misses);
  }
  return {
    arch: ARCH_NAMES[m.arch] ?? 'unknown',
    memory: Number(m.memBytes),
    cpus: paging.cpus,
    // 0 from an mmu that predates the field: nothing to compare
    tlbEntries: paging.tlbEntries,
    tlbLookups,
  };
}

/**
 * How the running machine differs from the one a workload needs, one phrase per difference
 * (empty when they agree on everything the services tell).
 */
export function machineDifferences(want: MachineSpec, have: RemoteMachine): string[] {
  const out: string[] = [];
  if (have.arch !== want.arch) out.push(`arch ${have.arch} where the workload needs ${want.arch}`);
  if (have.memory !== want.memory)
    out.push(`${formatBytes(have.memory)} of memory where the workload needs ${formatBytes(want.memory)}`);
  if (have.cpus !== want.cpus) out.push(`${have.cpus} CPU(s) where the workload needs ${want.cpus}`);
  if (have.tlbEntries && have.tlbEntries !== want.tlbEntries)
    out.push(`${have.tlbEntries} TLB entries per CPU where the workload needs ${want.tlbEntries}`);
  return out;
}

/**
 * How to boot the services for a machine, as a person would type it: the services' flags, and
 * the environment docker-compose.yml reads for the same (a stack in containers).
 */
function bootFlags(machine: MachineSpec): string {
  return (
    `page-allocator --arch=${machine.arch} --mem=${machine.memory} --cpus=${machine.cpus}; ` +
    `mmu --cpus=${machine.cpus} --tlb-entries=${machine.tlbEntries} ` +
    `(docker-compose: PAGEMESH_ARCH=${machine.arch} PAGEMESH_MEM=${machine.memory} ` +
    `PAGEMESH_CPUS=${machine.cpus} PAGEMESH_TLB_ENTRIES=${machine.tlbEntries})`
  );
}

function formatBytes(n: number): string {
  const MiB = 2 ** 20;
  return n % MiB === 0 ? `${n / MiB} MiB` : `${n} bytes`;
}

/** `page-allocator=host:port,mmu=...`: the form `--addresses` takes, and the transport's name. */
export function formatAddresses(addresses: RemoteAddresses): string {
  return LOWER_SERVICES.map((s) => `${s}=${addresses[s]}`).join(',');
}

/**
 * The address-list transport: the replay ports over services already running elsewhere (a
 * docker-compose stack, another machine), which this factory neither starts nor stops.
 *
 * Before each workload it asks the services for their machine and refuses, saying what differs
 * and which flags would match, when they were booted for another one (arch, memory, CPUs); and,
 * unless `reuse` is set, when they have run anything since they booted: the services cannot be
 * reset, and a replay is deterministic only from a freshly booted machine (the same PFNs, TLB
 * figures and /proc texts as in-process). The sign of a used machine is a TLB lookup: booting
 * makes none, every user access makes one.
 */
export function remoteStackFactory(
  addresses: RemoteAddresses,
  options: RemoteStackOptions = {},
): StackFactory {
  const list = formatAddresses(addresses);
  return async (machine: MachineSpec): Promise<Stack> => {
    const pool = new ClientPool({ caller: 'orchestrator' });
    try {
      const have = await probeRemoteMachine(addresses, pool);
      const differences = machineDifferences(machine, have);
      if (differences.length > 0)
        throw new RemoteStackError(
          'machine-mismatch',
          `the services at ${list} run another machine: ${differences.join(', ')}; ` +
            `start them with ${bootFlags(machine)}`,
        );
      if (have.tlbLookups > 0 && !options.reuse)
        throw new RemoteStackError(
          'not-fresh',
          `the services at ${list} have run something since they booted ` +
            `(${have.tlbLookups} TLB lookups) and cannot be reset: restart them for a clean machine, ` +
            `or reuse them knowingly (PFNs and figures then differ from a fresh run)`,
        );
      // A reused stack has run other workloads: its services' figures since boot are theirs too,
      // so the boundaries are what was called after this snapshot. A fresh one takes none, and
      // its figures since boot are the workload's (its boot included, as in-process).
      const since = have.tlbLookups > 0 ? await fetchInnerCalls(addresses, pool) : [];
      const { closeStreams, ...ports } = grpcStack({ ...addresses, orchestrator: '' }, pool, since);
      return {
        ...ports,
        transport: `remote ${list}${have.tlbLookups > 0 ? ' (reused: not fresh)' : ''}`,
        close: async () => {
          closeStreams();
          pool.close();
        },
      };
    } catch (e) {
      pool.close();
      throw e;
    }
  };
}
