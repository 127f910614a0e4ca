/**
 * Typed errors of the mmu. Each carries the request field and the bad value, and a `kind` the
 * service kit maps to a gRPC status. Every operation validates before it mutates: when one of
 * these is thrown, nothing changed. Simulated-hardware outcomes (page faults, #GP) and syscall
 * outcomes (errno) are values, never these.
 */
import { RequestError, type RequestErrorKind } from '@pagemesh/uapi';

export { InvariantViolationError } from '@pagemesh/uapi';

export type MmuErrorKind = RequestErrorKind;

/** Any request the layer refused (see RequestError in uapi). */
export abstract class MmuError extends RequestError {
  abstract override readonly kind: MmuErrorKind;
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
