/**
 * The workload model: what a workload file (YAML/JSON) or an oracle `.ops` script becomes once
 * loaded and checked. Every number is resolved (sizes in bytes, prot/flags as Linux's bits);
 * addresses are va48 numbers or references to a value saved earlier by the workload (`$buf+4K`).
 */

/**
 * A syscall's length or offset: a number, or a bigint above 2^53 (oracle scripts pass lengths
 * near 2^64 to test wrap-around; the vma-manager takes both).
 */
export type U64 = number | bigint;

/** An address: a va48, or a saved variable plus a byte offset (resolved when the op runs). */
export type Addr = number | { readonly var: string; readonly offset: number };

export type Arch = 'x86_64' | 'x86';

export interface MachineSpec {
  readonly arch: Arch;
  /** Bytes of RAM. */
  readonly memory: number;
  readonly cpus: number;
  /** 4 KiB TLB entries per CPU (the mmu's geometry decides the rest). */
  readonly tlbEntries: number;
  /** Operations a process runs before the scheduler moves on (round robin). */
  readonly quantum: number;
}

export interface Workload {
  readonly name: string;
  readonly description: string;
  readonly seed: number;
  readonly machine: MachineSpec;
  /** Modules loaded before any process starts (`kmmap`, `vmmap`, ...). */
  readonly modules: readonly string[];
  /** Processes started at boot; forked children are declared inside their parent's ops. */
  readonly processes: readonly ProcessSpec[];
  /** Checks of the machine once every process has exited and the modules are unloaded. */
  readonly final: readonly ExpectOp[];
  /** Where the workload came from, for messages: a file path or `builtin:NAME`. */
  readonly source: string;
}

export interface ProcessSpec {
  readonly name: string;
  readonly ops: readonly Op[];
}

/** Where an op was written, for messages: `file:line:column`, or the op's JSON path. */
export interface OpSite {
  readonly at: string;
}

export type SignalName = 'SIGSEGV' | 'SIGBUS';
export type SignalCode = 'SEGV_MAPERR' | 'SEGV_ACCERR' | 'BUS_ADRERR';
export type AccessKind = 'read' | 'write' | 'fetch';
export type PatternKind = 'sequential' | 'strided' | 'uniform' | 'zipfian';

/** What a syscall must return. Without one, the syscall must succeed. */
export interface SyscallExpect {
  /** An errno name, null for success, '*' for "either". */
  readonly errno?: string | null;
  /** The exact return value (an address for mmap/mremap, a count for read/write). */
  readonly ret?: Addr;
}

/** What an access (or a range of them) must do. Without one, no signal may be raised. */
export interface AccessExpect {
  /** The signal the op must raise, null for none, '*' for "whatever happens" (oracle scripts). */
  readonly signal?: SignalName | null | '*';
  readonly code?: SignalCode;
  /** Index (in accesses) of the access that raised the signal. */
  readonly faultIndex?: number;
  /** Faults handled during the op (retries that succeeded). */
  readonly faults?: number;
  /** For reads: the bytes every read must return, as hex ("aabbccdd"). */
  readonly bytes?: string;
}

interface OpBase extends OpSite {
  readonly expect?: SyscallExpect;
}

export interface MmapOp extends OpBase {
  readonly op: 'mmap';
  readonly addr: Addr;
  readonly length: U64;
  readonly prot: number;
  readonly flags: number;
  /** A saved fd variable, or null for an anonymous mapping (fd -1). */
  readonly fd: string | null;
  readonly offset: U64;
  /** Save the returned address under this name. */
  readonly save?: string;
}
export interface RangeOp extends OpBase {
  readonly op: 'munmap' | 'mlock' | 'munlock' | 'mseal';
  readonly addr: Addr;
  readonly length: U64;
}
export interface MprotectOp extends OpBase {
  readonly op: 'mprotect';
  readonly addr: Addr;
  readonly length: U64;
  readonly prot: number;
}
export interface MremapOp extends OpBase {
  readonly op: 'mremap';
  readonly addr: Addr;
  readonly oldLength: U64;
  readonly newLength: U64;
  readonly flags: number;
  readonly newAddr: Addr;
  readonly save?: string;
}
export interface MadviseOp extends OpBase {
  readonly op: 'madvise';
  readonly addr: Addr;
  readonly length: U64;
  readonly advice: number;
}
export interface OpenOp extends OpBase {
  readonly op: 'open';
  readonly path: string;
  /** Save the fd under this name. */
  readonly save: string;
}
export interface ReadOp extends OpBase {
  readonly op: 'read';
  readonly fd: string;
  readonly length: number;
  /** Every page of the data read must start with these bytes (hex). */
  readonly pagePattern?: string;
}
export interface WriteOp extends OpBase {
  readonly op: 'write';
  readonly fd: string;
  readonly length: number;
  /** Bytes written at the start of every page of the buffer (hex); the rest is zero. */
  readonly pagePattern: string;
}
export interface CloseOp extends OpBase {
  readonly op: 'close';
  readonly fd: string;
}
export interface AccessOp extends OpSite {
  readonly op: 'access';
  readonly addr: Addr;
  readonly kind: AccessKind;
  /** Bytes to read (reads and fetches); 1 by default. */
  readonly length: number;
  /** Bytes a write stores (hex); one byte `01` by default. */
  readonly data: string;
  readonly expect?: AccessExpect;
}
/** The first byte of every `stride` bytes of [addr, addr+length), in address order (vmtrace `touch`). */
export interface TouchOp extends OpSite {
  readonly op: 'touch';
  readonly addr: Addr;
  readonly length: number;
  readonly kind: 'read' | 'write';
  readonly value: number;
  readonly stride: number;
  readonly expect?: AccessExpect;
}
/** `count` generated one-byte accesses to pages of [addr, addr+length). */
export interface PatternOp extends OpSite {
  readonly op: 'pattern';
  readonly addr: Addr;
  readonly length: number;
  readonly pattern: PatternKind;
  readonly count: number;
  /** Bytes between two accesses (strided); a page by default. */
  readonly stride: number;
  /** Zipf exponent (zipfian). */
  readonly theta: number;
  /** Fraction of writes, 0..1; the choice is drawn from the same seeded generator. */
  readonly writeRatio: number;
  /** Seed of this pattern; the workload's seed mixed with the op's place by default. */
  readonly seed?: number;
  readonly expect?: AccessExpect;
}
export interface ForkOp extends OpBase {
  readonly op: 'fork';
  /** The child, which starts running its own ops right after the fork. */
  readonly child: ProcessSpec;
}
export interface WaitOp extends OpSite {
  readonly op: 'wait';
  /** A child's name; the parent blocks until it has exited. */
  readonly child: string;
  /** The exit status the child must have: 0, or 'SIGSEGV'/'SIGBUS' when a signal killed it. */
  readonly status?: number | SignalName;
}
export interface ExitOp extends OpSite {
  readonly op: 'exit';
  readonly code: number;
}
export interface RepeatOp extends OpSite {
  readonly op: 'repeat';
  readonly times: number;
  readonly ops: readonly Op[];
}
/** Post an event other processes can `await` (ordering between processes). */
export interface PostOp extends OpSite {
  readonly op: 'post';
  readonly event: string;
}
export interface AwaitOp extends OpSite {
  readonly op: 'await';
  readonly event: string;
}
/** Read a /proc file of this process (`maps`, `smaps`, `status`) or a global one (`/proc/...`). */
export interface ProcOp extends OpSite {
  readonly op: 'proc';
  readonly file: string;
  /** Save the first integer of the text under this name. */
  readonly save?: string;
}
/** Save the PFN mapped at an address (from pagemap) under a name. */
export interface PfnOp extends OpSite {
  readonly op: 'pfn';
  readonly addr: Addr;
  readonly save: string;
}
/** Record /proc/buddyinfo and /proc/meminfo under a name (`boot` is recorded automatically). */
export interface SnapshotOp extends OpSite {
  readonly op: 'snapshot';
  readonly name: string;
}
/** Create a regular file (`file`) or a memfd of `size` bytes and keep it open as fd `name` (vmtrace). */
export interface FileOp extends OpBase {
  readonly op: 'file' | 'memfd';
  readonly name: string;
  readonly size: number;
  readonly readOnly: boolean;
}
export interface TruncateOp extends OpBase {
  readonly op: 'truncate';
  readonly name: string;
  readonly size: number;
}
export interface ModuleOp extends OpSite {
  readonly op: 'insmod' | 'rmmod';
  readonly name: string;
}
/** mknod(path, S_IFCHR, makedev(major, minor)), as mmap-test runs `mknod /dev/mymmap c 42 0`. */
export interface MknodOp extends OpBase {
  readonly op: 'mknod';
  readonly path: string;
  readonly major: number;
  readonly minor: number;
}
/** unlink(path) of a device node (`rm /dev/mymmap`). */
export interface UnlinkOp extends OpBase {
  readonly op: 'unlink';
  readonly path: string;
}
export interface ExpectOp extends OpSite {
  readonly op: 'expect';
  readonly what: Expectation;
}

export type Op =
  | MmapOp
  | RangeOp
  | MprotectOp
  | MremapOp
  | MadviseOp
  | OpenOp
  | ReadOp
  | WriteOp
  | CloseOp
  | AccessOp
  | TouchOp
  | PatternOp
  | ForkOp
  | WaitOp
  | ExitOp
  | RepeatOp
  | PostOp
  | AwaitOp
  | ProcOp
  | PfnOp
  | SnapshotOp
  | FileOp
  | TruncateOp
  | ModuleOp
  | MknodOp
  | UnlinkOp
  | ExpectOp;

export type OpName = Op['op'];

/** Text checks: the whole list of lines, lines that must be present, regexes that must match a line. */
export interface TextExpect {
  readonly equals?: readonly string[];
  readonly contains?: readonly string[];
  readonly matches?: readonly string[];
  /** The number of lines. */
  readonly count?: number;
}

/** A standalone check. Exactly one field is set. */
export type Expectation =
  | { readonly kind: 'maps'; readonly text: TextExpect }
  | { readonly kind: 'proc'; readonly file: string; readonly text: TextExpect }
  /** The first `hex.length/2` bytes of `pages` consecutive pages from addr (1: just addr) read as hex. */
  | { readonly kind: 'bytes'; readonly addr: Addr; readonly hex: string; readonly pages: number }
  /** (saved `to` - saved `from`) >> shift == equals; `label` is printed with the value (mmap-test). */
  | {
      readonly kind: 'delta';
      readonly from: string;
      readonly to: string;
      readonly shift: number;
      readonly equals: number;
      readonly label?: string;
    }
  /** Fields of /proc/PID/status (kB) and the engine's fault counters of this process. */
  | { readonly kind: 'counters'; readonly values: Readonly<Record<string, number>> }
  /** struct page of the frame mapped at addr. */
  | {
      readonly kind: 'page';
      readonly addr: Addr;
      readonly present?: boolean;
      readonly refcount?: number;
      readonly mapcount?: number;
      readonly sameAs?: string;
      readonly differentFrom?: string;
    }
  /** /proc/buddyinfo: the same as a snapshot, or free blocks of an order in a zone (at least / exactly). */
  | {
      readonly kind: 'buddyinfo';
      readonly sameAs?: string;
      readonly differentFrom?: string;
      readonly zone?: string;
      readonly order?: number;
      readonly atLeast?: number;
      readonly equals?: number;
    }
  /** /proc/meminfo: fields with exact values (kB), and/or fields equal to a snapshot's. */
  | {
      readonly kind: 'meminfo';
      readonly values: Readonly<Record<string, number>>;
      readonly sameAs?: string;
      readonly fields: readonly string[];
    };

export type ExpectationKind = Expectation['kind'];
