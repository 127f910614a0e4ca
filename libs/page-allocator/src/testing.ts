/** Narrow a nullable allocation result in tests and callers that expect success. */
export function must<T>(value: T | null | undefined, what = 'allocation'): T {
  if (value === null || value === undefined) throw new Error(`${what} unexpectedly failed`);
  return value;
}
