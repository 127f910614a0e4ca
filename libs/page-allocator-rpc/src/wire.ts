import { DomainError } from '@pagemesh/service-kit';

/**
 * 64-bit proto fields arrive as bigint (ts-proto forceLong=bigint). PFNs, physical addresses
 * and sizes of this machine fit a JS number; this is the one place they are converted, and a
 * value that does not fit is refused naming the field.
 */
export function toNumber(field: string, value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DomainError(
      'invalid-argument',
      `${field}=0x${value.toString(16)}: larger than this machine can address`,
      {
        field,
        value,
      },
    );
  }
  return Number(value);
}

export function toNumbers(field: string, values: readonly bigint[]): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toNumber(`${field}[${i}]`, values[i]);
  return out;
}

export function toBigints(values: readonly number[]): bigint[] {
  const out = new Array<bigint>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i]);
  return out;
}

/** Refuses a batch larger than `limit`, so that one request cannot hold the service for long. */
export function checkBatch(field: string, length: number, limit: number): void {
  if (length > limit) {
    throw new DomainError('invalid-argument', `${field} has ${length} entries: at most ${limit} per call`, {
      field,
      value: length,
    });
  }
}
