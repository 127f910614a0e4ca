/**
 * Typed errors of the mmu. Each carries the request field and the bad value, and a `kind` the
 * service kit maps to a gRPC status. Every operation validates before it mutates: when one of
 * these is thrown, nothing changed. Simulated-hardware outcomes (page faults, #GP) and syscall
 * outcomes (errno) are values, never these.
 */
export type MmuErrorKind =
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'failed-precondition'
  | 'resource-exhausted'
  | 'out-of-range';

export abstract class MmuError extends Error {
  abstract readonly kind: MmuErrorKind;

  constructor(
    readonly field: string,
    readonly value: unknown,
    detail: string,
  ) {
    super(`${field}=${formatValue(value)}: ${detail}`);
    this.name = new.target.name;
  }
}

/** Thrown when an argument is malformed: unaligned address, PFN beyond memory, protection bits that do not exist, a range outside the half it belongs to. */
export class InvalidArgumentError extends MmuError {
  readonly kind = 'invalid-argument' as const;
}

/** Thrown when a request names an address space, vmalloc area or kmap that does not exist. */
export class NotFoundError extends MmuError {
  readonly kind = 'not-found' as const;
}

/** Thrown when mapping over a present entry without `replace`, or an entry is in a state the operation cannot take (a huge leaf in a 4 KiB operation, kunmap_local out of order). */
export class FailedPreconditionError extends MmuError {
  readonly kind = 'failed-precondition' as const;
}

/** Thrown when the page allocator cannot supply page-table frames, or kmap slots are exhausted. */
export class ResourceExhaustedError extends MmuError {
  readonly kind = 'resource-exhausted' as const;
}

/** Thrown by checkInvariants() when the mmu's own state is inconsistent (a bug, never a caller's fault). */
export class InvariantViolationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolationError';
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0x10000)
    return `0x${value.toString(16)}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}
