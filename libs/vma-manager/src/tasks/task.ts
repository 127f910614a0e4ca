/**
 * A task: one single-threaded process as the vma-manager keeps it (task_struct's pid, comm,
 * parent, exit_signal and state, its mm as an MmProcess, and its fd table).
 */
import type { MmProcess } from '../process';
import { FdTable } from './fd-table';

/** TASK_COMM_LEN (include/linux/sched.h): comm is a char[16], so at most 15 bytes and a NUL. */
export const TASK_COMM_LEN = 16;
/** SIGCHLD on x86 (arch/x86/include/uapi/asm/signal.h): the exit_signal fork gives a child. */
export const SIGCHLD = 17;

/**
 * The bytes __set_task_comm keeps of `name` (strscpy_pad into comm[TASK_COMM_LEN]): up to the
 * first NUL, at most TASK_COMM_LEN - 1 bytes of its UTF-8. Like the kernel it counts bytes, not
 * characters, so a multibyte character may be cut.
 */
export function commBytes(name: string): Uint8Array {
  const bytes = new TextEncoder().encode(name);
  const nul = bytes.indexOf(0);
  return bytes.slice(0, Math.min(nul < 0 ? bytes.length : nul, TASK_COMM_LEN - 1));
}

export type TaskState = 'alive' | 'exited';

export class Task {
  /** comm as bytes, exactly what the kernel keeps */
  readonly commBytes: Uint8Array;
  state: TaskState = 'alive';
  /** the open files (files_struct); a forked child starts with a copy */
  fds = new FdTable();
  /** minor faults of this task that the fault handler completed (ru_minflt), kept after exit */
  private minfltAtExit = 0;

  constructor(
    readonly pid: number,
    comm: string | Uint8Array,
    /** the address space; released by exit */
    readonly mm: MmProcess,
    /** the parent's pid, 0 for a process created without one (as init's parent is 0) */
    readonly ppid: number,
    /** task->exit_signal: what the parent is sent when this task exits */
    readonly exitSignal: number = SIGCHLD,
  ) {
    this.commBytes = typeof comm === 'string' ? commBytes(comm) : comm.slice(0, TASK_COMM_LEN - 1);
  }

  /** comm as text; a multibyte character cut by the 15-byte limit shows as U+FFFD. */
  get comm(): string {
    return new TextDecoder().decode(this.commBytes);
  }

  get alive(): boolean {
    return this.state === 'alive';
  }

  get minflt(): number {
    return this.alive ? this.mm.minflt : this.minfltAtExit;
  }

  /** Marks the task exited, after its mm was released. */
  markExited(): void {
    this.minfltAtExit = this.mm.minflt;
    this.state = 'exited';
  }
}
