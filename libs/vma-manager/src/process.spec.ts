import { Machine } from './machine';
import { MmProcess } from './process';
import type { MappedPage, MmuPort, PageAllocatorPort, ProtectionChange, VaRange } from './ports';
import * as M from './mman';
import { PageStateUnavailableError } from './errors';

const A = 0x7e00_0000_0000;

/** Records the calls and serves a fixed set of present pages, as a test double of the mmu. */
class RecordingMmu implements MmuPort {
  readonly calls: string[] = [];
  readonly present = new Map<number, MappedPage>();

  async unmapRanges(asid: number, ranges: readonly VaRange[]): Promise<{ removed: MappedPage[] }> {
    this.calls.push(
      `unmap ${asid} ${ranges.map((r) => `${r.start.toString(16)}-${r.end.toString(16)}`).join(',')}`,
    );
    const removed: MappedPage[] = [];
    for (const [va, p] of this.present) {
      if (ranges.some((r) => va >= r.start && va < r.end)) {
        removed.push(p);
        this.present.delete(va);
      }
    }
    return { removed };
  }

  async changeProtection(_asid: number, changes: readonly ProtectionChange[]): Promise<void> {
    for (const c of changes) {
      this.calls.push(
        `protect ${c.range.start.toString(16)}-${c.range.end.toString(16)} w=${c.writable} cow=${c.copyOnWrite}`,
      );
    }
  }

  async mapPages(
    _asid: number,
    pages: readonly { va: number; pfn: number; writable: boolean; dirty: boolean }[],
  ): Promise<void> {
    for (const p of pages) {
      this.calls.push(`map ${p.va.toString(16)} pfn ${p.pfn}`);
      this.present.set(p.va, { va: p.va, pfn: p.pfn, writable: p.writable, dirty: p.dirty, young: true });
    }
  }

  async pagemap(): Promise<never[]> {
    return [];
  }
}

class RecordingPages implements PageAllocatorPort {
  readonly put: number[] = [];
  async allocZeroedPages(count: number): Promise<number[]> {
    return Array.from({ length: count }, (_, i) => 100 + i);
  }
  async putPages(pfns: readonly number[]): Promise<void> {
    this.put.push(...pfns);
  }
}

function setup() {
  const mmu = new RecordingMmu();
  const pages = new RecordingPages();
  const proc = new MmProcess(new Machine(), 7, { mmu, pages });
  return { mmu, pages, proc };
}

const RW = M.PROT_READ | M.PROT_WRITE;
const FIXED = M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_FIXED_NOREPLACE;

describe('MmProcess: page tables follow the VMAs through the ports', () => {
  it('munmap zaps the range and puts the pages that were mapped there', async () => {
    const { mmu, pages, proc } = setup();
    await proc.mmap(A, 0x4000, RW, FIXED);
    mmu.present.set(A + 0x1000, { va: A + 0x1000, pfn: 42, writable: true, dirty: true, young: true });
    expect(await proc.munmap(A, 0x2000)).toEqual({ ret: 0 });
    expect(mmu.calls).toEqual(['unmap 7 7e0000000000-7e0000002000']);
    expect(pages.put).toEqual([42]);
  });

  it('mprotect rewrites the protection of the changed range only', async () => {
    const { mmu, proc } = setup();
    await proc.mmap(A, 0x4000, RW, FIXED);
    await proc.mprotect(A + 0x1000, 0x1000, M.PROT_READ);
    expect(mmu.calls).toEqual(['protect 7e0000001000-7e0000002000 w=false cow=true']);
  });

  it('mremap moves the present pages to the new address', async () => {
    const { mmu, pages, proc } = setup();
    await proc.mmap(A, 0x2000, RW, FIXED);
    mmu.present.set(A, { va: A, pfn: 5, writable: true, dirty: true, young: true });
    const r = await proc.mremap(A, 0x2000, 0x2000, M.MREMAP_MAYMOVE | M.MREMAP_FIXED, A + 0x10000);
    expect(r).toEqual({ ret: A + 0x10000 });
    expect(mmu.calls).toEqual([
      'unmap 7 7e0000000000-7e0000002000',
      'map 7e0000010000 pfn 5',
      'unmap 7 7e0000000000-7e0000002000',
    ]);
    expect(pages.put).toEqual([]);
  });

  it('madvise(DONTNEED) zaps, a failing syscall sends nothing', async () => {
    const { mmu, proc } = setup();
    await proc.mmap(A, 0x2000, RW, FIXED);
    await proc.madvise(A, 0x1000, M.MADV_DONTNEED);
    expect(await proc.munmap(A + 1, 0x1000)).toEqual({ errno: 'EINVAL' });
    expect(mmu.calls).toEqual(['unmap 7 7e0000000000-7e0000001000']);
  });

  it('refuses to pretend: populating needs the fault path, which is not wired', async () => {
    const { proc } = setup();
    await expect(proc.mmap(A, 0x2000, RW, FIXED | M.MAP_POPULATE)).rejects.toBeInstanceOf(
      PageStateUnavailableError,
    );
  });
});
