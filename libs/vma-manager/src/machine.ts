/**
 * The machine-wide settings and counters the VMA layer depends on (sysctls, RAM, swap,
 * vm_committed_as, the shm mount's inode numbers). One Machine is shared by every mm on it.
 */
export interface MachineConfig {
  /** totalram_pages(): MemTotal / 4 KiB */
  readonly totalRamPages: number;
  /** total_swap_pages */
  readonly totalSwapPages: number;
  /** vm.overcommit_memory: 0 heuristic, 1 always, 2 never */
  readonly overcommitMemory: 0 | 1 | 2;
  /** vm.overcommit_ratio (percent), used by mode 2 */
  readonly overcommitRatio: number;
  /** vm.max_map_count */
  readonly maxMapCount: number;
  /** stack_guard_gap, in pages (mm/mmap.c default 256) */
  readonly stackGuardGapPages: number;
  /** vm.mmap_min_addr */
  readonly mmapMinAddr: number;
  /** RLIMIT_MEMLOCK in bytes (Infinity: unlimited, as for root with CAP_IPC_LOCK) */
  readonly memlockLimit: number;
}

/** DEFAULT_MAX_MAP_COUNT = USHRT_MAX - MAPCOUNT_ELF_CORE_MARGIN (include/linux/mm.h) */
export const DEFAULT_MAX_MAP_COUNT = 65535 - 5;
/** stack_guard_gap default: 256 pages (mm/mmap.c) */
export const DEFAULT_STACK_GUARD_GAP_PAGES = 256;

/**
 * The machine the oracle was recorded on (../shared/oracle/environment.txt): MemTotal 24684096 kB,
 * no swap, overcommit_memory 0, max_map_count 65530, root (mlock unlimited).
 */
export const ORACLE_MACHINE: MachineConfig = {
  totalRamPages: 24684096 / 4,
  totalSwapPages: 0,
  overcommitMemory: 0,
  overcommitRatio: 50,
  maxMapCount: DEFAULT_MAX_MAP_COUNT,
  stackGuardGapPages: DEFAULT_STACK_GUARD_GAP_PAGES,
  mmapMinAddr: 4096,
  memlockLimit: Infinity,
};

export class Machine {
  /** vm_committed_as, in pages */
  committedPages = 0;
  private nextIno = 1;
  private nextAnonVmaId = 1;

  constructor(public readonly config: MachineConfig = ORACLE_MACHINE) {}

  /** A new inode number on the internal shm mount. */
  allocIno(): number {
    return this.nextIno++;
  }

  allocAnonVmaId(): number {
    return this.nextAnonVmaId++;
  }
}
