/**
 * The five services of a pagemesh stack, bottom of the call DAG first: a service is started
 * only after everything it calls is serving, and stopped before it.
 */
export interface ServiceSpec {
  /** The app's folder under apps/ and the name used on the command line. */
  readonly name: ServiceName;
  /** The fully qualified gRPC service, as health checks and reflection name it. */
  readonly grpcService: string;
  /** Its port when the stack starts at the default base port. */
  readonly defaultPort: number;
  /** What it owns, for the table `pagemesh up` prints. */
  readonly owns: string;
  /** The services it calls, each passed to it as `--<name>-address`. */
  readonly calls: readonly ServiceName[];
}

export type ServiceName = 'page-allocator' | 'mmu' | 'device-drivers' | 'vma-manager' | 'orchestrator';

/** 50051 is gRPC's customary first port; the rest follow in DAG order. */
export const DEFAULT_BASE_PORT = 50051;
/** A service's /metrics port is its gRPC port plus this. */
export const METRICS_PORT_OFFSET = 100;

export const SERVICES: readonly ServiceSpec[] = [
  {
    name: 'page-allocator',
    grpcService: 'pagemesh.v1.PageAllocatorService',
    defaultPort: DEFAULT_BASE_PORT,
    owns: 'struct page, zones, buddy allocator, kmalloc, RAM',
    calls: [],
  },
  {
    name: 'mmu',
    grpcService: 'pagemesh.v1.MmuService',
    defaultPort: DEFAULT_BASE_PORT + 1,
    owns: 'page tables, TLBs, direct map, vmalloc, kmap',
    calls: ['page-allocator'],
  },
  {
    name: 'device-drivers',
    grpcService: 'pagemesh.v1.DeviceDriversService',
    defaultPort: DEFAULT_BASE_PORT + 2,
    owns: 'modules, character devices, driver memory',
    calls: ['mmu', 'page-allocator'],
  },
  {
    name: 'vma-manager',
    grpcService: 'pagemesh.v1.VmaManagerService',
    defaultPort: DEFAULT_BASE_PORT + 3,
    owns: 'processes, mm_struct, VMAs, syscalls, page faults',
    calls: ['device-drivers', 'mmu', 'page-allocator'],
  },
  {
    name: 'orchestrator',
    grpcService: 'pagemesh.v1.OrchestratorService',
    defaultPort: DEFAULT_BASE_PORT + 4,
    owns: 'simulated CPUs, workload replay, reports',
    calls: ['vma-manager', 'device-drivers', 'mmu', 'page-allocator'],
  },
];

export function serviceSpec(name: string): ServiceSpec {
  const spec = SERVICES.find((s) => s.name === name);
  if (!spec)
    throw new RangeError(
      `unknown service ${JSON.stringify(name)}: expected one of ${SERVICES.map((s) => s.name).join(', ')}`,
    );
  return spec;
}

/** Addresses of a stack started at `basePort` on `host`. */
export function defaultAddresses(
  host = '127.0.0.1',
  basePort = DEFAULT_BASE_PORT,
): Record<ServiceName, string> {
  const out = {} as Record<ServiceName, string>;
  for (const s of SERVICES) out[s.name] = `${host}:${basePort + (s.defaultPort - DEFAULT_BASE_PORT)}`;
  return out;
}

/**
 * Parses `name=host:port,name=host:port` (the form `--addresses` takes). Unnamed services keep
 * their address from `fallback`.
 */
export function parseAddressList(
  text: string,
  fallback: Record<ServiceName, string>,
): Record<ServiceName, string> {
  const out = { ...fallback };
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq < 0) throw new RangeError(`bad address ${JSON.stringify(item)}: expected name=host:port`);
    const spec = serviceSpec(item.slice(0, eq));
    const address = item.slice(eq + 1);
    if (!/^[^\s:]+:\d{1,5}$/.test(address) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(address)) {
      throw new RangeError(`bad address for ${spec.name}: ${JSON.stringify(address)} is not host:port`);
    }
    out[spec.name] = address;
  }
  return out;
}
