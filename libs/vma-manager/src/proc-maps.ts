import type { MmStruct } from './mm-struct';
import type { Vma } from './vma';
import { VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE, hasAny } from './vm-flags';

/** seq_setwidth(m, 25 + sizeof(void *) * 6 - 1): names start after column 72 on 64-bit. */
const NAME_COLUMN = 72;

/** offset, dev and inode of memory without a file, with the trailing space */
const ANON_TAIL = ' 00000000 00:00 0 ';

/** "00" .. "ff" */
const BYTE_HEX: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => (i < 16 ? '0' : '') + i.toString(16),
);

/**
 * seq_put_hex_ll(m, NULL, v, 8): lowercase hex, at least 8 digits. The low 32 bits go through a
 * byte table and the rest (a small integer) through toString: V8's radix conversion of a double
 * (any value of 2^31 or more) is several times slower.
 */
function hex8(v: number): string {
  const lo = v >>> 0;
  const hi = (v - lo) / 0x1_0000_0000;
  const low =
    BYTE_HEX[lo >>> 24] + BYTE_HEX[(lo >>> 16) & 0xff] + BYTE_HEX[(lo >>> 8) & 0xff] + BYTE_HEX[lo & 0xff];
  return hi === 0 ? low : hi.toString(16) + low;
}

function hex2(v: number): string {
  const s = v.toString(16);
  return s.length >= 2 ? s : '0' + s;
}

/** The perms column for r/w/x (bits 0-2) and VM_MAYSHARE (bit 3 of the index): `s`, not VM_SHARED. */
const PERMS: readonly string[] = Array.from(
  { length: 16 },
  (_, i) => (i & 1 ? 'r' : '-') + (i & 2 ? 'w' : '-') + (i & 4 ? 'x' : '-') + (i & 8 ? 's' : 'p'),
);

function perms(f: number): string {
  return PERMS[(f & (VM_READ | VM_WRITE | VM_EXEC)) | (hasAny(f, VM_MAYSHARE) ? 8 : 0)];
}

/** The name column (get_vma_name): the file's path; anonymous private memory has none here. */
export function vmaName(vma: Vma): string {
  return vma.file ? vma.file.path : '';
}

/**
 * One /proc/PID/maps line without the newline (show_map_vma): `start-end perms offset dev ino `,
 * then, for a named VMA, spaces to column 72, one space and the name.
 */
export function formatMapsLine(vma: Vma): string {
  const f = vma.file;
  let line =
    hex8(vma.start) +
    '-' +
    hex8(vma.end) +
    ' ' +
    perms(vma.vmFlags) +
    (f
      ? ' ' + hex8(vma.pgoff * 4096) + ' ' + hex2(f.devMajor) + ':' + hex2(f.devMinor) + ' ' + f.ino + ' '
      : ANON_TAIL);
  const name = vmaName(vma);
  if (name) {
    if (line.length < NAME_COLUMN) line += ' '.repeat(NAME_COLUMN - line.length);
    line += ' ' + name;
  }
  return line;
}

/** The VMAs that /proc/PID/maps lists for [from, to): those intersecting it, in address order. */
export function vmasIn(mm: MmStruct, from = 0, to = Number.MAX_SAFE_INTEGER): Vma[] {
  const out: Vma[] = [];
  const tree = mm.vmas;
  for (let i = tree.indexAfter(from); i < tree.size; i++) {
    const v = tree.get(i);
    if (v.start >= to) break;
    out.push(v);
  }
  return out;
}

/** /proc/PID/maps lines (no trailing newlines) of the VMAs intersecting [from, to). */
export function procMapsLines(mm: MmStruct, from = 0, to = Number.MAX_SAFE_INTEGER): string[] {
  const out: string[] = [];
  const tree = mm.vmas;
  for (let i = tree.indexAfter(from); i < tree.size; i++) {
    const v = tree.get(i);
    if (v.start >= to) break;
    out.push(formatMapsLine(v));
  }
  return out;
}

/** The whole /proc/PID/maps text. */
export function procMaps(mm: MmStruct): string {
  let s = '';
  for (const v of mm.vmas.all()) s += formatMapsLine(v) + '\n';
  return s;
}
