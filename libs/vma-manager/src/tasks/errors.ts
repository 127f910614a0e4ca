import { VmaDomainError } from '../errors';

/** Thrown when a request names a pid that no process has ever had (or whose record was reused). */
export class NoSuchProcessError extends VmaDomainError {
  constructor(field: string, pid: unknown) {
    super('not-found', field, pid, 'no such process');
  }
}

/** Thrown when a request names a process that has exited: it holds no address space any more. */
export class ProcessExitedError extends VmaDomainError {
  constructor(field: string, pid: number) {
    super('failed-precondition', field, pid, 'the process has exited');
  }
}

/** Thrown when every pid below pid_max belongs to a live process (alloc_pid fails; fork would return -EAGAIN). */
export class PidsExhaustedError extends VmaDomainError {
  constructor(pidMax: number) {
    super('resource-exhausted', 'pid', pidMax, 'every pid below pid_max is in use');
  }
}
