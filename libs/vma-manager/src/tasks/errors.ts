import { VmaDomainError } from '../errors';

/** Thrown when a request names a pid that no process has ever had (or whose record was reused). */
export class NoSuchProcessError extends VmaDomainError {
  constructor(field: string, pid: unknown) {
    super('not-found', field, pid, 'no such process');
    this.name = 'NoSuchProcessError';
  }
}

/** Thrown when a request names a process that has exited: it holds no address space any more. */
export class ProcessExitedError extends VmaDomainError {
  constructor(field: string, pid: number) {
    super('failed-precondition', field, pid, 'the process has exited');
    this.name = 'ProcessExitedError';
  }
}

/**
 * Thrown when every pid below pid_max belongs to a live process (alloc_pid fails; fork would
 * return -EAGAIN). Its kind is outside VmaDomainError's, so it is a class of its own with the
 * same shape (kind, field, value), which the service kit maps by shape.
 */
export class PidsExhaustedError extends Error {
  readonly kind = 'resource-exhausted' as const;
  readonly field = 'pid';
  constructor(public readonly value: number) {
    super(`pid: every pid below pid_max (${value}) is in use`);
    this.name = 'PidsExhaustedError';
  }
}
