/** Readers of the /proc texts the engine checks and the report draws (the kernel's formats). */

export interface BuddyZone {
  readonly node: number;
  readonly zone: string;
  /** Free blocks per order (index = order). */
  readonly free: readonly number[];
}

/** /proc/buddyinfo (mm/vmstat.c frag_show_print): `Node 0, zone   Normal   3   2 ...`. */
export function parseBuddyinfo(text: string): BuddyZone[] {
  const zones: BuddyZone[] = [];
  for (const line of text.split('\n')) {
    const m = /^Node\s+(\d+),\s+zone\s+(\S+)\s+(.*)$/.exec(line.trim());
    if (m) zones.push({ node: Number(m[1]), zone: m[2], free: m[3].trim().split(/\s+/).map(Number) });
  }
  return zones;
}

/** Free pages a buddyinfo text accounts for: sum of count * 2^order over zones. */
export function buddyFreePages(zones: readonly BuddyZone[]): number {
  let pages = 0;
  for (const z of zones) z.free.forEach((n, order) => (pages += n * 2 ** order));
  return pages;
}

/** `Field:   123 kB` lines (/proc/meminfo, /proc/PID/status): the number of each field. */
export function parseFields(text: string): Map<string, number> {
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)/.exec(line);
    if (m) fields.set(m[1], Number(m[2]));
  }
  return fields;
}

export interface MapsLine {
  readonly start: number;
  readonly end: number;
  readonly perms: string;
  readonly name: string;
}

/** /proc/PID/maps lines (fs/proc/task_mmu.c show_map_vma). */
export function parseMaps(text: string): MapsLine[] {
  const out: MapsLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S{4})\s+\S+\s+\S+\s+\S+\s*(.*)$/.exec(line);
    if (m) out.push({ start: parseInt(m[1], 16), end: parseInt(m[2], 16), perms: m[3], name: m[4].trim() });
  }
  return out;
}

/** The maps text as lines, the trailing newline dropped (lines keep their trailing space). */
export function textLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The first integer in a text (`sscanf(buf, "%lu")` of mmap-test), or null. */
export function firstInteger(text: string): number | null {
  const m = /\d+/.exec(text);
  return m ? Number(m[0]) : null;
}
