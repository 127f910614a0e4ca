/**
 * The ports implemented directly over the mmu and page-allocator domain objects, for in-process
 * use and tests. Over gRPC the same interfaces are implemented by the rpc libs' clients.
 */
import { GFP, PageFlag, type PageAllocator } from '@pagemesh/page-allocator';
import {
  type Mmu,
  KERNEL_ASID,
  PROT_X86_64,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
  pgprot,
  vmGetPageProt,
  X86_PF_WRITE,
} from '@pagemesh/mmu';
import { GFP_TRANSHUGE_ZEROED, HPAGE_PMD_ORDER } from './huge-memory';
import type { AccessOutcome, MappedPage, MmuPort, PageAllocatorPort, PagemapEntry, PageToMap } from './ports';

/** The largest pagemap query the mmu takes at once (MAX_PAGEMAP_PAGES). */
const PAGEMAP_CHUNK = 1 << 16;
/** What user pages are allocated with (GFP_HIGHUSER_MOVABLE | __GFP_ZERO). */
const GFP_USER_ZEROED = GFP.HIGHUSER_MOVABLE | GFP.ZERO;

const PAGE = 4096;
/** The simulated CPU user accesses run on. */
const ACCESS_CPU = 0;

/** The PTE bits of a page to map, as a small integer (for runs and the pgprot cache). */
function protKey(p: PageToMap): number {
  if (!p.accessible) return 0;
  return 1 | (p.young === false ? 0 : 2) | (p.writable ? 4 : 0) | (p.dirty ? 8 : 0) | (p.executable ? 16 : 0);
}

const PROTS = new Map<number, ReturnType<typeof pgprot>>();

/** The pgprot of a protKey: PROT_NONE, or present | user with A, RW, D and NX from the key. */
function protOf(key: number): ReturnType<typeof pgprot> {
  let prot = PROTS.get(key);
  if (prot === undefined) {
    prot =
      key === 0
        ? PROT_X86_64.PAGE_NONE
        : pgprot(
            _PAGE_PRESENT |
              _PAGE_USER |
              (key & 2 ? _PAGE_ACCESSED : 0) |
              (key & 4 ? _PAGE_RW : 0) |
              (key & 8 ? _PAGE_DIRTY : 0),
            (key & 16) === 0,
          );
    PROTS.set(key, prot);
  }
  return prot;
}

export function inprocMmuPort(mmu: Mmu): MmuPort {
  return {
    createAddressSpace() {
      return mmu.createAddressSpace();
    },
    async destroyAddressSpace(asid) {
      if (mmu.currentAsid(ACCESS_CPU) === asid) mmu.switchTo(ACCESS_CPU, KERNEL_ASID);
      await mmu.destroyAddressSpace(asid);
    },
    async unmapRanges(asid, ranges) {
      const removed: MappedPage[] = [];
      for (const r of ranges) {
        const n = (r.end - r.start) / PAGE;
        if (n <= 0) continue;
        for (const p of await mmu.unmapPages(asid, r.start, n)) {
          removed.push({
            va: p.va,
            pfn: p.pfn,
            writable: p.writable,
            dirty: p.dirty,
            young: p.accessed,
            special: p.special,
            ...(p.huge ? { huge: true } : {}),
          });
        }
      }
      return { removed };
    },
    async mapHugePmd(asid, pmd) {
      await mmu.mapHugePmd(
        asid,
        pmd.va,
        pmd.pfn,
        protOf(protKey({ ...pmd, accessible: pmd.accessible ?? true })),
        {
          special: pmd.special,
          replace: true,
        },
      );
    },
    async splitHugePmd(asid, va, zeroPfn) {
      await mmu.splitHugePmd(asid, va, zeroPfn === undefined ? {} : { zeroPfn });
    },
    async changeProtection(asid, changes) {
      for (const c of changes) {
        const flags =
          (c.readable ? 1 : 0) | (c.writable ? 2 : 0) | (c.executable ? 4 : 0) | (c.copyOnWrite ? 0 : 8);
        const n = (c.range.end - c.range.start) / PAGE;
        if (n > 0) await mmu.protectPages(asid, c.range.start, n, vmGetPageProt(flags, PROT_X86_64));
      }
    },
    async mapPages(asid, pages: readonly PageToMap[]) {
      // one mmu call per run of consecutive pages with the same protection and kind, as the
      // gRPC port sends them (MapPages), so that both allocate page tables alike
      let i = 0;
      while (i < pages.length) {
        const first = pages[i];
        const key = protKey(first);
        let j = i + 1;
        while (
          j < pages.length &&
          pages[j].va === pages[j - 1].va + PAGE &&
          pages[j].special === first.special &&
          protKey(pages[j]) === key
        )
          j++;
        const pfns: number[] = new Array(j - i);
        for (let k = i; k < j; k++) pfns[k - i] = pages[k].pfn;
        await mmu.mapPages(asid, first.va, pfns, protOf(key), { special: first.special, replace: true });
        i = j;
      }
    },
    async access(asid, accesses) {
      if (!accesses.length) return [];
      mmu.switchTo(ACCESS_CPU, asid);
      const results = await mmu.accessBatch(
        accesses.map((a) => ({
          cpu: ACCESS_CPU,
          va: a.va,
          op: a.write ? ('write' as const) : ('read' as const),
          user: true,
          ...(a.write ? { data: a.data ?? new Uint8Array(1) } : { length: 1 }),
        })),
      );
      return results.map((r): AccessOutcome => {
        if (r.kind === 'ok') return { kind: 'ok', data: r.data };
        if (r.kind === 'page-fault') return { kind: 'fault', write: (r.errorCode & X86_PF_WRITE) !== 0 };
        if (r.kind === 'skipped') return { kind: 'skipped' };
        return { kind: 'fault', write: false };
      });
    },
    async pagemap(asid, ranges) {
      const out: PagemapEntry[] = [];
      for (const r of ranges) {
        for (let va = r.start; va < r.end; va += PAGEMAP_CHUNK * PAGE) {
          const n = Math.min(PAGEMAP_CHUNK, (r.end - va) / PAGE);
          for (const e of await mmu.pagemap(asid, va, n)) {
            let writable = false;
            if (e.present && !e.special) {
              const t = mmu.walk(asid, e.va);
              const leaf = t.steps[t.steps.length - 1];
              writable = (leaf.lo & _PAGE_RW) !== 0;
            }
            out.push({
              va: e.va,
              present: e.present,
              pfn: e.pfn,
              special: e.special,
              exclusive: e.exclusive,
              writable,
              dirty: e.dirty,
              young: e.accessed,
            });
          }
        }
      }
      return out;
    },
  };
}

export function inprocPagesPort(pa: PageAllocator): PageAllocatorPort {
  let zero: number | null = null;
  let hugeZero: number | null = null;
  return {
    async allocHugePage() {
      return pa.allocPages(GFP_TRANSHUGE_ZEROED, HPAGE_PMD_ORDER);
    },
    async hugeZeroPage() {
      // the huge zero folio, allocated on first use and kept (the kernel's shrinker frees it
      // when unused; here it stays like ZERO_PAGE); mapped special, so nothing ever puts it
      if (hugeZero === null) hugeZero = pa.allocPages(GFP_TRANSHUGE_ZEROED, HPAGE_PMD_ORDER);
      return hugeZero;
    },
    async allocZeroedPages(count) {
      const pfns = pa.allocPagesBulk(GFP_USER_ZEROED, 0, count);
      if (pfns.length !== count) {
        for (const pfn of pfns) pa.freePages(pfn, 0);
        throw new Error(`out of memory: ${count} pages`);
      }
      return pfns;
    },
    async getPages(pfns) {
      for (const pfn of pfns) pa.getPage(pfn);
    },
    async putPages(pfns) {
      for (const pfn of pfns) pa.putPage(pfn);
    },
    async addMapcounts(pfns, delta) {
      for (const pfn of pfns) {
        if (delta > 0) pa.pageMapcountInc(pfn);
        else pa.pageMapcountDec(pfn);
      }
    },
    async mapcounts(pfns) {
      return pfns.map((pfn) => pa.pageMapcount(pfn));
    },
    async markDirty(pfns) {
      for (const pfn of pfns) pa.setPageFlag(pfn, PageFlag.Dirty);
    },
    async dirtyFlags(pfns) {
      return pfns.map((pfn) => pa.testPageFlag(pfn, PageFlag.Dirty));
    },
    async copyPages(pairs) {
      for (const { dst, src } of pairs) pa.copyPage(dst, src);
    },
    async zeroPage() {
      if (zero === null) {
        const pfn = pa.allocPages(GFP_USER_ZEROED, 0);
        if (pfn === null) throw new Error('out of memory: the zero page');
        pa.setPageReserved(pfn);
        zero = pfn;
      }
      return zero;
    },
    async readBytes(reads) {
      return reads.map((r) => pa.readPhys(r.pfn * PAGE + r.offset, r.length));
    },
    async writeBytes(writes) {
      for (const w of writes) pa.writePhys(w.pfn * PAGE + w.offset, w.bytes);
    },
  };
}
