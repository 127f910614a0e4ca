import type { MmStruct } from './mm-struct';
import type { Vma } from './vma';
import { VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE, hasAny } from './vm-flags';

/** seq_setwidth(m, 25 + sizeof(void *) * 6 - 1): names start after column 72 on 64-bit. */
const NAME_COLUMN = 72;

const ZEROS = '00000000';

/** seq_put_hex_ll(m, NULL, v, 8): lowercase hex, at least 8 digits. */
function hex8(v: number): string {
  const s = v.toString(16);
  return s.length >= 8 ? s : ZEROS.slice(s.length) + s;
}

function hex2(v: number): string {
  const s = v.toString(16);
  return s.length >= 2 ? s : '0' + s;
}

/** The perms column: r/w/x from VM_READ/WRITE/EXEC, `s` from VM_MAYSHARE (not VM_SHARED). */
function perms(f: number): string {
  return (
    (f & VM_READ ? 'r' : '-') +
    (f & VM_WRITE ? 'w' : '-') +
    (f & VM_EXEC ? 'x' : '-') +
    (hasAny(f, VM_MAYSHARE) ? 's' : 'p')
  );
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
    ' ' +
    (f ? hex8(vma.pgoff * 4096) : ZEROS) +
    ' ' +
    (f ? hex2(f.devMajor) + ':' + hex2(f.devMinor) + ' ' + f.ino : '00:00 0') +
    ' ';
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
    const v = tree.at(i)!;
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
    const v = tree.at(i)!;
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
