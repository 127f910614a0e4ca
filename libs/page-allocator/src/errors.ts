/**
 * Typed errors of the page allocator. Each carries the offending field and value so the rpc
 * layer can map it to a gRPC status (one table in the service kit) without parsing messages.
 * Every operation validates before it mutates: when one of these is thrown, nothing changed.
 */
export abstract class DomainError extends Error {
  abstract readonly code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' | 'OUT_OF_RANGE';

  /** The error kind the service kit maps to a gRPC status (it recognises errors by this shape). */
  get kind(): 'invalid-argument' | 'failed-precondition' | 'out-of-range' {
    return this.code === 'INVALID_ARGUMENT'
      ? 'invalid-argument'
      : this.code === 'FAILED_PRECONDITION'
        ? 'failed-precondition'
        : 'out-of-range';
  }

  constructor(
    readonly field: string,
    readonly value: unknown,
    detail: string,
  ) {
    super(`${field}=${formatValue(value)}: ${detail}`);
    this.name = new.target.name;
  }
}

/** Thrown when an argument is malformed whatever the state: order > MAX_PAGE_ORDER, a PFN beyond max_pfn, an unaligned physical range, a bad config. */
export class InvalidArgumentError extends DomainError {
  readonly code = 'INVALID_ARGUMENT' as const;
}

/** Thrown when the request is well formed but the page is in the wrong state: double free, wrong order, tail page, refcount underflow, kfree of a pointer that is not live. */
export class FailedPreconditionError extends DomainError {
  readonly code = 'FAILED_PRECONDITION' as const;
}

/** Thrown by checkInvariants() when the allocator's own state is inconsistent (a bug, never a caller's fault). */
export class InvariantViolationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolationError';
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0x10000) {
    return `0x${value.toString(16)}`;
  }
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value); // objects without a prototype
  }
}
