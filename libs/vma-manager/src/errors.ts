/** What kind of request the vma-manager could not take; the service kit maps each to a gRPC status. */
export type DomainErrorKind = 'invalid-argument' | 'not-found' | 'failed-precondition';

/**
 * Thrown when a request cannot be taken at all (malformed, unknown object, wrong state).
 * A request Linux would refuse is never thrown: it is an errno value.
 */
export class VmaDomainError extends Error {
  constructor(
    public readonly kind: DomainErrorKind,
    public readonly field: string,
    public readonly value: unknown,
    detail?: string,
  ) {
    super(`${field}: ${detail ?? 'invalid value'} (got ${formatValue(value)})`);
    this.name = 'VmaDomainError';
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
    this.name = 'PageStateUnavailableError';
  }
}

function formatValue(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return `0x${v.toString(16)}`;
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  return JSON.stringify(v) ?? String(v);
}
