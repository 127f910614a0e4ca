import { PAGE_SIZE, va48FromCanonical } from '@pagemesh/uapi';
import { mman } from '@pagemesh/vma-manager';
import type { Addr } from './model';

/**
 * The textual forms a workload file may use for numbers: sizes (`4096`, `"0x1000"`, `"4K"`,
 * `"10M"`, `"16p"` = 16 pages), addresses (a number, `"0x7e0000000000"`, a canonical kernel
 * address `"0xffff888000000000"`, or `"$name"` / `"$name+4K"` for a value saved earlier), prot
 * (`rw-`, `r-x`, `none`, or a number), mmap/mremap flags (`private|anonymous|fixed`, numbers
 * allowed as extra bits) and madvise advice (`DONTNEED` or a number). Each parser returns the
 * value or a message saying what is wrong with it.
 */
export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (message: string): Parsed<never> => ({ ok: false, message });

const SIZE_SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  K: 1 << 10,
  M: 1 << 20,
  G: 2 ** 30,
  T: 2 ** 40,
  p: PAGE_SIZE,
};
const SIZE_RE = /^(0x[0-9a-fA-F]+|[0-9]+)([KMGTp]?)$/;

/** A non-negative byte count below 2^53. */
export function parseSize(raw: unknown): Parsed<number> {
  if (typeof raw === 'number') {
    return Number.isSafeInteger(raw) && raw >= 0
      ? ok(raw)
      : fail(`${raw} is not a non-negative safe integer`);
  }
  if (typeof raw !== 'string') return fail(`expected a size, got ${JSON.stringify(raw)}`);
  const m = SIZE_RE.exec(raw.trim());
  if (!m) return fail(`"${raw}" is not a size (4096, "0x1000", "4K", "10M", "16p")`);
  const value = Number(BigInt(m[1]) * BigInt(SIZE_SUFFIX[m[2]]));
  return Number.isSafeInteger(value) ? ok(value) : fail(`"${raw}" is larger than 2^53`);
}

/** A syscall length or offset: like a size, but up to 2^64 - 1, a bigint above 2^53. */
export function parseU64(raw: unknown): Parsed<number | bigint> {
  if (typeof raw === 'number') return parseSize(raw);
  if (typeof raw !== 'string') return fail(`expected a size, got ${JSON.stringify(raw)}`);
  const m = SIZE_RE.exec(raw.trim());
  if (!m) return fail(`"${raw}" is not a size (4096, "0x1000", "4K", "10M", "16p")`);
  const value = BigInt(m[1]) * BigInt(SIZE_SUFFIX[m[2]]);
  if (value >= 1n << 64n) return fail(`"${raw}" does not fit in 64 bits`);
  return ok(value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
}

const VAR_RE = /^\$([A-Za-z_][A-Za-z0-9_-]*)(?:\s*\+\s*(.+))?$/;

/** A virtual address: a va48, or a saved variable plus an offset. */
export function parseAddr(raw: unknown): Parsed<Addr> {
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw) || raw < 0) return fail(`${raw} is not a non-negative safe integer`);
    return raw < 2 ** 48
      ? ok(raw)
      : fail(`${raw} is not canonical: write addresses above 2^47 as hex strings`);
  }
  if (typeof raw !== 'string') return fail(`expected an address, got ${JSON.stringify(raw)}`);
  const text = raw.trim();
  const v = VAR_RE.exec(text);
  if (v) {
    if (v[2] === undefined) return ok({ var: v[1], offset: 0 });
    const off = parseSize(v[2]);
    return off.ok ? ok({ var: v[1], offset: off.value }) : fail(`offset of "${raw}": ${off.message}`);
  }
  if (/^0x[0-9a-fA-F]{1,16}$/.test(text) || /^[0-9]+$/.test(text)) {
    // Canonicality is checked here, where the 64-bit value enters (docs/architecture.md).
    const va = va48FromCanonical(BigInt(text));
    return va === null ? fail(`${text} is not a canonical x86-64 address`) : ok(va);
  }
  return fail(`"${raw}" is not an address (a number, "0x7e0000000000", "$name" or "$name+4K")`);
}

/** `rw-`-style protection, `none`, or a number (invalid bits are the syscall's business). */
export function parseProt(raw: unknown): Parsed<number> {
  if (typeof raw === 'number') return Number.isInteger(raw) && raw >= 0 ? ok(raw) : fail(`bad prot ${raw}`);
  if (typeof raw !== 'string') return fail(`expected prot like "rw-", got ${JSON.stringify(raw)}`);
  const text = raw.trim();
  if (text === 'none') return ok(mman.PROT_NONE);
  if (/^0x[0-9a-fA-F]+$|^[0-9]+$/.test(text)) return ok(Number(text));
  const m = /^([r-])([w-])([x-])$/.exec(text);
  if (!m) return fail(`"${raw}" is not a prot ("rw-", "r-x", "---", "none" or a number)`);
  return ok(
    (m[1] === 'r' ? mman.PROT_READ : 0) |
      (m[2] === 'w' ? mman.PROT_WRITE : 0) |
      (m[3] === 'x' ? mman.PROT_EXEC : 0),
  );
}

const MMAP_FLAGS: Readonly<Record<string, number>> = {
  private: mman.MAP_PRIVATE,
  shared: mman.MAP_SHARED,
  shared_validate: mman.MAP_SHARED_VALIDATE,
  anonymous: mman.MAP_ANONYMOUS,
  anon: mman.MAP_ANONYMOUS,
  fixed: mman.MAP_FIXED,
  fixed_noreplace: mman.MAP_FIXED_NOREPLACE,
  noreserve: mman.MAP_NORESERVE,
  populate: mman.MAP_POPULATE,
  growsdown: mman.MAP_GROWSDOWN,
  stack: mman.MAP_STACK,
  locked: mman.MAP_LOCKED,
  nonblock: mman.MAP_NONBLOCK,
  droppable: mman.MAP_DROPPABLE,
  uninitialized: mman.MAP_UNINITIALIZED,
};
const MREMAP_FLAGS: Readonly<Record<string, number>> = {
  maymove: mman.MREMAP_MAYMOVE,
  fixed: mman.MREMAP_FIXED,
  dontunmap: mman.MREMAP_DONTUNMAP,
};

function parseFlagSet(raw: unknown, names: Readonly<Record<string, number>>, what: string): Parsed<number> {
  if (typeof raw === 'number')
    return Number.isInteger(raw) && raw >= 0 ? ok(raw) : fail(`bad ${what} ${raw}`);
  if (typeof raw !== 'string')
    return fail(`expected ${what} like "${Object.keys(names)[0]}", got ${JSON.stringify(raw)}`);
  let bits = 0;
  for (const part of raw.split('|').map((p) => p.trim())) {
    if (/^0x[0-9a-fA-F]+$|^[0-9]+$/.test(part)) bits |= Number(part);
    else if (part in names) bits |= names[part];
    else return fail(`unknown ${what} "${part}" (known: ${Object.keys(names).join(', ')})`);
  }
  return ok(bits);
}

export const parseMmapFlags = (raw: unknown): Parsed<number> => parseFlagSet(raw, MMAP_FLAGS, 'mmap flag');
export const parseMremapFlags = (raw: unknown): Parsed<number> =>
  parseFlagSet(raw, MREMAP_FLAGS, 'mremap flag');

/** The MADV_ name without its prefix, or a number. */
export function parseAdvice(raw: unknown): Parsed<number> {
  if (typeof raw === 'number') return Number.isInteger(raw) && raw >= 0 ? ok(raw) : fail(`bad advice ${raw}`);
  if (typeof raw !== 'string') return fail(`expected advice like "DONTNEED", got ${JSON.stringify(raw)}`);
  const text = raw.trim();
  if (/^0x[0-9a-fA-F]+$|^[0-9]+$/.test(text)) return ok(Number(text));
  const value = (mman as Readonly<Record<string, unknown>>)[`MADV_${text.toUpperCase()}`];
  return typeof value === 'number' ? ok(value) : fail(`unknown advice "${raw}"`);
}

/** Hex bytes ("aabbccdd", spaces and 0x allowed): an even number of digits. */
export function parseHex(raw: unknown): Parsed<string> {
  if (typeof raw === 'number') raw = raw.toString(16).padStart(2, '0');
  if (typeof raw !== 'string') return fail(`expected hex bytes like "aabbccdd", got ${JSON.stringify(raw)}`);
  const text = raw.replace(/0x/g, '').replace(/\s+/g, '').toLowerCase();
  if (!/^([0-9a-f]{2})+$/.test(text)) return fail(`"${raw}" is not hex bytes (an even number of hex digits)`);
  return ok(text);
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
