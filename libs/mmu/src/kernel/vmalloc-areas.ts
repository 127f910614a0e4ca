import { formatVa } from '../paging/va48';

/** One vmalloc area (struct vm_struct): `size` includes the guard page, as in the kernel. */
export interface VmArea {
  readonly addr: number;
  readonly size: number;
  readonly pages: readonly number[];
  readonly caller: string;
}

/**
 * The vmalloc address space: lowest-address first fit in [start, end), each area followed by
 * one unmapped guard page (__get_vm_area_node adds PAGE_SIZE unless VM_NO_GUARD).
 */
export class VmallocAreas {
  private areas: VmArea[] = [];

  constructor(
    readonly start: number,
    readonly end: number,
  ) {}

  /** First-fit search for `bytes` (guard included); null when the range is full. */
  findFree(bytes: number): number | null {
    let cursor = this.start;
    for (const a of this.areas) {
      if (a.addr - cursor >= bytes) return cursor;
      cursor = Math.max(cursor, a.addr + a.size);
    }
    return this.end - cursor >= bytes ? cursor : null;
  }

  insert(area: VmArea): void {
    let i = 0;
    while (i < this.areas.length && this.areas[i].addr < area.addr) i++;
    this.areas.splice(i, 0, area);
  }

  /** The area starting exactly at `addr`. */
  find(addr: number): VmArea | undefined {
    return this.areas.find((a) => a.addr === addr);
  }

  remove(addr: number): VmArea | undefined {
    const i = this.areas.findIndex((a) => a.addr === addr);
    if (i < 0) return undefined;
    return this.areas.splice(i, 1)[0];
  }

  list(): readonly VmArea[] {
    return this.areas;
  }

  /**
   * /proc/vmallocinfo (mm/vmalloc.c vmalloc_info_show): `0x<start>-0x<end> <size %7ld> <caller>
   * pages=<n> vmalloc [vpages] N0=<n>`; `vpages` when the page array itself needed vmalloc
   * (array_size > PAGE_SIZE in __vmalloc_area_node).
   */
  procVmallocinfo(vaBits: number): string {
    const pointerBytes = vaBits === 32 ? 4 : 8;
    let out = '';
    for (const a of this.areas) {
      const n = a.pages.length;
      let line = `${formatVa(a.addr, vaBits)}-${formatVa(a.addr + a.size, vaBits)} ${String(a.size).padStart(7)} ${a.caller}`;
      line += ` pages=${n} vmalloc`;
      if (n * pointerBytes > 4096) line += ' vpages';
      line += ` N0=${n}\n`;
      out += line;
    }
    return out;
  }
}
