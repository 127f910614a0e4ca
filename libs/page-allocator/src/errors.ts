/**
 * Typed errors of the page allocator: requests it cannot take (see RequestError in uapi).
 * Every operation validates before it mutates: when one of these is thrown, nothing changed.
 */
import { RequestError } from '@pagemesh/uapi';

export { InvariantViolationError } from '@pagemesh/uapi';

/** Any request the page allocator refused. */
export abstract class DomainError extends RequestError {
  abstract override readonly kind: 'invalid-argument' | 'failed-precondition' | 'out-of-range';
}

/** Thrown when an argument is malformed whatever the state: order > MAX_PAGE_ORDER, a PFN beyond max_pfn, an unaligned physical range, a bad config. */
export class InvalidArgumentError extends DomainError {
  readonly kind = 'invalid-argument' as const;
}

/** Thrown when the request is well formed but the page is in the wrong state: double free, wrong order, tail page, refcount underflow, kfree of a pointer that is not live. */
export class FailedPreconditionError extends DomainError {
  readonly kind = 'failed-precondition' as const;
}
