import { RequestError } from '@pagemesh/uapi';

/** What kind of request the vma-manager could not take; the service kit maps each to a gRPC status. */
export type DomainErrorKind = 'invalid-argument' | 'not-found' | 'failed-precondition' | 'resource-exhausted';

/**
 * Thrown when a request cannot be taken at all (malformed, unknown object, wrong state).
 * A request Linux would refuse is never thrown: it is an errno value.
 */
export class VmaDomainError extends RequestError {
  constructor(
    readonly kind: DomainErrorKind,
    field: string,
    value: unknown,
    detail = 'invalid value',
  ) {
    super(field, value, detail);
  }
}

/** Thrown when an operation needs page-level state (faults, residency) that is not wired to this mm. */
export class PageStateUnavailableError extends VmaDomainError {
  constructor(operation: string) {
    super(
      'failed-precondition',
      'operation',
      operation,
      'needs page tables, but no mmu/page-allocator is wired',
    );
  }
}
