/**
 * Pid allocation as alloc_pid does it (kernel/pid.c): cyclic, starting at 1, each new pid the
 * next free one after the last handed out; after wrapping at pid_max the search restarts at
 * RESERVED_PIDS, so low pids are not reused. The first process created gets pid 1: this model
 * has no init of its own, and its processes are numbered as a fresh pid namespace numbers them.
 */

/** PID_MAX_DEFAULT (include/linux/threads.h): 0x8000 unless the machine has many CPUs. */
export const PID_MAX_DEFAULT = 0x8000;
/** RESERVED_PIDS (kernel/pid.c): where the search restarts after a wrap. */
export const RESERVED_PIDS = 300;

export class PidMap {
  /** the last pid handed out (the idr cursor minus one) */
  private last = 0;

  constructor(readonly pidMax: number = PID_MAX_DEFAULT) {
    if (!Number.isInteger(pidMax) || pidMax <= RESERVED_PIDS)
      throw new RangeError(`pidMax must be an integer above ${RESERVED_PIDS}: got ${pidMax}`);
  }

  /** The next free pid (one `inUse` says false for), or null when every pid is taken. */
  alloc(inUse: (pid: number) => boolean): number | null {
    for (let pid = this.last + 1; pid < this.pidMax; pid++) {
      if (!inUse(pid)) return (this.last = pid);
    }
    for (let pid = RESERVED_PIDS; pid <= this.last; pid++) {
      if (!inUse(pid)) return (this.last = pid);
    }
    return null;
  }
}
