import { VmaDomainError } from './errors';

/**
 * A 64-bit syscall argument (unsigned long). Values up to Number.MAX_SAFE_INTEGER may be passed as
 * numbers; larger ones (0xffffffffffffffff ...) must be bigints, because a JS number cannot hold them
 * exactly and the kernel's results depend on the exact wrap-around of `start + PAGE_ALIGN(len)`.
 */
export type U64 = number | bigint;

const TWO64 = 1n << 64n;
const PAGE = 4096n;

/** Validates a U64 argument; returns it as bigint. */
export function u64Big(v: U64, field: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v >= TWO64)
      throw new VmaDomainError('invalid-argument', field, v, 'not an unsigned 64-bit value');
    return v;
  }
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new VmaDomainError(
      'invalid-argument',
      field,
      v,
      'not a non-negative safe integer (pass a bigint above 2^53)',
    );
  }
  return BigInt(v);
}

/** A u64 as a number: exact below 2^53, otherwise some number >= 2^53 (above every user address). */
export function u64Num(v: bigint): number {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : 2 ** 60;
}

/** Fast check: a number argument small enough that no arithmetic below can lose precision or wrap. */
export function isSmall(v: U64): v is number {
  return typeof v === 'number' && v >= 0 && v <= 0xf_ffff_ffff_ffff && Number.isInteger(v);
}

/** PAGE_ALIGN in u64 arithmetic (wraps to 0 near 2^64). */
export function pageAlignBig(v: bigint): bigint {
  return (v + PAGE - 1n) & (TWO64 - PAGE);
}

/** (a + b) mod 2^64 */
export function addBig(a: bigint, b: bigint): bigint {
  return (a + b) & (TWO64 - 1n);
}

/**
 * A [start, start + PAGE_ALIGN(len)) range decoded exactly once: every field is what the kernel's
 * unsigned long arithmetic gives, with numbers saturated above 2^53 (never a user address).
 */
export interface DecodedRange {
  /** start, exact when < 2^53 */
  readonly start: number;
  readonly startAligned: boolean;
  /** raw len was 0 */
  readonly lenZero: boolean;
  /** PAGE_ALIGN(len), 0 when it wrapped */
  readonly len: number;
  /** (start + PAGE_ALIGN(len)) mod 2^64 */
  readonly end: number;
  /** start + PAGE_ALIGN(len) overflowed 2^64 */
  readonly endWrapped: boolean;
}

export function decodeRange(start: U64, len: U64, startField = 'start', lenField = 'len'): DecodedRange {
  if (isSmall(start) && isSmall(len)) {
    const alen = Math.ceil(len / 4096) * 4096;
    return {
      start,
      startAligned: start % 4096 === 0,
      lenZero: len === 0,
      len: alen,
      end: start + alen,
      endWrapped: false,
    };
  }
  const s = u64Big(start, startField);
  const l = u64Big(len, lenField);
  const al = pageAlignBig(l);
  const e = s + al;
  return {
    start: u64Num(s),
    startAligned: (s & (PAGE - 1n)) === 0n,
    lenZero: l === 0n,
    len: u64Num(al),
    end: u64Num(e & (TWO64 - 1n)),
    endWrapped: e >= TWO64,
  };
}

/** Decodes a single u64 argument to a number (saturated above 2^53) and whether it is page aligned. */
export function decodeAddr(v: U64, field: string): { value: number; aligned: boolean; zero: boolean } {
  if (isSmall(v)) return { value: v, aligned: v % 4096 === 0, zero: v === 0 };
  const b = u64Big(v, field);
  return { value: u64Num(b), aligned: (b & (PAGE - 1n)) === 0n, zero: b === 0n };
}
