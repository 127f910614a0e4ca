/**
 * /proc/PID/maps and /proc/PID/smaps read back from their text, as vmtrace reads them: a process
 * that lives in another service is seen only through its /proc files.
 */
import type { SmapsPageStats } from '../proc-smaps';
import type { MapsLine, SmapsFigures } from './page-state';

/** `start-end perms ...`: the bounds of a maps line (show_map_vma prints them in lowercase hex). */
const BOUNDS = /^([0-9a-f]+)-([0-9a-f]+) /;

/** Thrown when /proc text does not have the kernel's format; names the file and the line. */
export class ProcTextError extends Error {
  constructor(file: string, line: string, detail: string) {
    super(`${file}: ${detail}: ${JSON.stringify(line)}`);
    this.name = 'ProcTextError';
  }
}

function bounds(file: string, line: string): { start: number; end: number } {
  const m = BOUNDS.exec(line);
  if (!m) throw new ProcTextError(file, line, 'not a maps line');
  return { start: parseInt(m[1], 16), end: parseInt(m[2], 16) };
}

/** The lines of /proc/PID/maps, in file order. */
export function parseProcMaps(text: string): MapsLine[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => ({ ...bounds('maps', l), text: l }));
}

/** smaps field names → SmapsPageStats keys (the page figures the runner prints). */
const STATS: Readonly<Record<string, keyof SmapsPageStats>> = {
  Rss: 'rss',
  Pss: 'pss',
  Pss_Dirty: 'pssDirty',
  Shared_Clean: 'sharedClean',
  Shared_Dirty: 'sharedDirty',
  Private_Clean: 'privateClean',
  Private_Dirty: 'privateDirty',
  Referenced: 'referenced',
  Anonymous: 'anonymous',
  LazyFree: 'lazyFree',
  AnonHugePages: 'anonHugePages',
  Swap: 'swap',
  SwapPss: 'swapPss',
};

/** `Name:   1234 kB` (SEQ_PUT_DEC), and the other `Name: value` lines. */
const FIELD = /^([A-Za-z_]+):\s*(.*)$/;

/**
 * The VMAs of /proc/PID/smaps with their figures (show_smap: a maps line, then one line per
 * field, VmFlags last). Fields the runner does not print are skipped.
 */
export function parseProcSmaps(text: string): SmapsFigures[] {
  const out: SmapsFigures[] = [];
  let cur: { start: number; end: number; fields: Map<string, string> } | null = null;
  const finish = () => {
    if (!cur) return;
    const f = cur.fields;
    const kb = (name: string): number => {
      const v = f.get(name);
      const m = v === undefined ? null : /^(\d+) kB$/.exec(v);
      if (!m) throw new ProcTextError('smaps', v ?? '', `no ${name} of VMA ${cur?.start.toString(16)}`);
      return Number(m[1]);
    };
    const stats = {} as Record<keyof SmapsPageStats, number>;
    for (const [name, key] of Object.entries(STATS)) stats[key] = kb(name);
    out.push({
      start: cur.start,
      end: cur.end,
      size: kb('Size'),
      stats,
      locked: kb('Locked'),
      vmFlags: (f.get('VmFlags') ?? '').trim(),
    });
    cur = null;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const field = FIELD.exec(line);
    if (field && cur) {
      cur.fields.set(field[1], field[2]);
      continue;
    }
    finish();
    cur = { ...bounds('smaps', line), fields: new Map() };
  }
  finish();
  return out;
}
