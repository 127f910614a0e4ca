import {
  KERNEL_ASID,
  MAX_PAGEMAP_PAGES,
  PROT_X86_64,
  X86_PF_WRITE,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
  pgprot,
  vmGetPageProt,
} from '@pagemesh/mmu';
import { MAX_PAGES_PER_CALL } from '@pagemesh/mmu-rpc';
import { toNumber } from '@pagemesh/page-allocator-rpc';
import {
  AccessOp,
  MapHugePmdRequest,
  MapPagesRequest,
  type MmuServiceClient,
  type StreamAccessesRequest,
  type StreamAccessesResponse,
} from '@pagemesh/proto';
import { promisifyUnary } from '@pagemesh/service-kit';
import { PAGE_SIZE, canonicalFromVa48, va48FromCanonical } from '@pagemesh/uapi';
import type {
  HugePmdToMap,
  MappedPage,
  MmuPort,
  PagemapEntry,
  ProtectionChange,
  VaRange,
} from '@pagemesh/vma-manager';

/** One page to map, as MmuPort.mapPages takes it. */
type PageToMap = Parameters<MmuPort['mapPages']>[1][number];
/** A user access and its outcome, as MmuPort.access takes and gives them. */
interface UserAccess {
  readonly va: number;
  readonly write: boolean;
  readonly data?: Uint8Array;
}
type AccessOutcome =
  | { readonly kind: 'ok'; readonly data?: Uint8Array }
  | { readonly kind: 'fault'; readonly write: boolean }
  | { readonly kind: 'skipped' };

/** The simulated CPU user accesses run on (as in inprocMmuPort). */
const ACCESS_CPU = 0;

/** x86 pgprot (lo, hi) → the 64-bit wire value. */
function pgprotToWire(p: { lo: number; hi: number }): bigint {
  return (BigInt(p.hi >>> 0) << 32n) | BigInt(p.lo >>> 0);
}

/** The PTE protection of one page to map: what inprocMmuPort computes with the same helpers. */
function pageProt(p: PageToMap): { lo: number; hi: number } {
  if (!p.accessible) return PROT_X86_64.PAGE_NONE;
  return pgprot(
    _PAGE_PRESENT |
      _PAGE_USER |
      (p.young === false ? 0 : _PAGE_ACCESSED) |
      (p.writable ? _PAGE_RW : 0) |
      (p.dirty ? _PAGE_DIRTY : 0),
    !p.executable,
  );
}

/** change_protection's new pgprot: vm_get_page_prot of the change's flags (private → COW). */
function changeProt(c: ProtectionChange): { lo: number; hi: number } {
  const flags =
    (c.readable ? 1 : 0) | (c.writable ? 2 : 0) | (c.executable ? 4 : 0) | (c.copyOnWrite ? 0 : 8);
  return vmGetPageProt(flags, PROT_X86_64);
}

/** A user address from the mmu's answer: a non-canonical one is the mmu's bug (INTERNAL). */
function userVa(field: string, value: bigint): number {
  const va = va48FromCanonical(value);
  if (va === null) throw new Error(`${field}=0x${value.toString(16)} from the mmu: not canonical`);
  return va;
}

/** A piece of a range and what goes with it (a protection). */
interface Piece<T> {
  readonly start: number;
  readonly count: number;
  readonly extra: T;
}

/**
 * The ranges cut into calls of at most `max` pages in all (a range larger than that is split),
 * in order: most batches are one call.
 */
function callsOf<T>(ranges: readonly { range: VaRange; extra: T }[], max: number): Piece<T>[][] {
  const calls: Piece<T>[][] = [];
  let call: Piece<T>[] = [];
  let pages = 0;
  for (const { range, extra } of ranges) {
    for (let va = range.start; va < range.end;) {
      if (pages === max) {
        calls.push(call);
        call = [];
        pages = 0;
      }
      const count = Math.min(max - pages, (range.end - va) / PAGE_SIZE);
      call.push({ start: va, count, extra });
      pages += count;
      va += count * PAGE_SIZE;
    }
  }
  if (call.length) calls.push(call);
  return calls;
}

/**
 * The vma-manager's port to the mmu, over the mmu service: each method is one call whatever the
 * batch (CreateAddressSpace, DestroyAddressSpace, MapPages or MapPageBatch, UnmapRanges,
 * ProtectRanges, PagemapRanges, SwitchCpu, StreamAccesses), split only past what one call takes.
 */
export class GrpcMmuPort implements MmuPort {
  private readonly createAs;
  private readonly destroyAs;
  private readonly mapCall;
  private readonly unmapRangesCall;
  private readonly protectRangesCall;
  private readonly pagemapRangesCall;
  private readonly mapBatchCall;
  private readonly mapHugePmdCall;
  private readonly splitHugePmdCall;
  private readonly switchCpu;
  /** asids this port loaded on ACCESS_CPU, to switch away from before destroying them */
  private readonly loaded = new Set<number>();

  constructor(private readonly client: MmuServiceClient) {
    this.createAs = promisifyUnary(client, 'createAddressSpace');
    this.destroyAs = promisifyUnary(client, 'destroyAddressSpace');
    this.mapCall = promisifyUnary(client, 'mapPages');
    this.unmapRangesCall = promisifyUnary(client, 'unmapRanges');
    this.protectRangesCall = promisifyUnary(client, 'protectRanges');
    this.pagemapRangesCall = promisifyUnary(client, 'pagemapRanges');
    this.mapBatchCall = promisifyUnary(client, 'mapPageBatch');
    this.mapHugePmdCall = promisifyUnary(client, 'mapHugePmd');
    this.splitHugePmdCall = promisifyUnary(client, 'splitHugePmd');
    this.switchCpu = promisifyUnary(client, 'switchCpu');
  }

  async createAddressSpace(): Promise<number> {
    const { addressSpaceId } = await this.createAs({});
    return toNumber('address_space_id', addressSpaceId);
  }

  async destroyAddressSpace(asid: number): Promise<void> {
    if (this.loaded.delete(asid))
      await this.switchCpu({ cpu: ACCESS_CPU, addressSpaceId: BigInt(KERNEL_ASID) });
    await this.destroyAs({ addressSpaceId: BigInt(asid) });
  }

  /** One UnmapRanges call for every range (more only past MAX_PAGES_PER_CALL pages). */
  async unmapRanges(asid: number, ranges: readonly VaRange[]): Promise<{ removed: MappedPage[] }> {
    const removed: MappedPage[] = [];
    for (const call of callsOf(
      ranges.map((range) => ({ range, extra: null })),
      MAX_PAGES_PER_CALL,
    )) {
      const res = await this.unmapRangesCall({
        addressSpaceId: BigInt(asid),
        ranges: call.map((p) => ({ address: canonicalFromVa48(p.start), count: p.count })),
      });
      for (const p of res.removed) {
        removed.push({
          va: userVa('removed.address', p.address),
          pfn: toNumber('removed.pfn', p.pfn),
          writable: p.writable,
          dirty: p.dirty,
          young: p.accessed,
          special: p.special,
          ...(p.huge ? { huge: true } : {}),
        });
      }
    }
    return { removed };
  }

  /** One MapHugePmd call (replacing a huge leaf there, as inprocMmuPort does). */
  async mapHugePmd(asid: number, pmd: HugePmdToMap): Promise<void> {
    await this.mapHugePmdCall(
      MapHugePmdRequest.fromPartial({
        addressSpaceId: BigInt(asid),
        address: canonicalFromVa48(pmd.va),
        pfn: BigInt(pmd.pfn),
        pgprot: pgprotToWire(pageProt({ ...pmd, accessible: pmd.accessible ?? true })),
        special: pmd.special,
        replace: true,
      }),
    );
  }

  /** One SplitHugePmd call. */
  async splitHugePmd(asid: number, va: number, zeroPfn?: number): Promise<void> {
    await this.splitHugePmdCall({
      addressSpaceId: BigInt(asid),
      address: canonicalFromVa48(va),
      toZeroPage: zeroPfn !== undefined,
      zeroPfn: BigInt(zeroPfn ?? 0),
    });
  }

  /** One ProtectRanges call for every change. */
  async changeProtection(asid: number, changes: readonly ProtectionChange[]): Promise<void> {
    const calls = callsOf(
      changes.map((c) => ({ range: c.range, extra: pgprotToWire(changeProt(c)) })),
      MAX_PAGES_PER_CALL,
    );
    for (const call of calls) {
      await this.protectRangesCall({
        addressSpaceId: BigInt(asid),
        ranges: call.map((p) => ({ address: canonicalFromVa48(p.start), count: p.count, pgprot: p.extra })),
      });
    }
  }

  /**
   * One call: MapPages when the pages are one run of consecutive pages with the same protection
   * and kind (a fault batch on fresh memory), MapPageBatch otherwise.
   */
  async mapPages(asid: number, pages: readonly PageToMap[]): Promise<void> {
    if (!pages.length) return;
    for (let i = 0; i < pages.length; i += MAX_PAGES_PER_CALL)
      await this.mapChunk(asid, pages.slice(i, i + MAX_PAGES_PER_CALL));
  }

  private async mapChunk(asid: number, pages: readonly PageToMap[]): Promise<void> {
    const first = pages[0];
    const prot = pageProt(first);
    let run = true;
    for (let j = 1; run && j < pages.length; j++)
      run =
        pages[j].va === pages[j - 1].va + PAGE_SIZE &&
        pages[j].special === first.special &&
        samePgprot(pageProt(pages[j]), prot);
    if (run) {
      await this.mapCall(
        MapPagesRequest.fromPartial({
          addressSpaceId: BigInt(asid),
          address: canonicalFromVa48(first.va),
          pfns: pages.map((p) => BigInt(p.pfn)),
          pgprot: pgprotToWire(prot),
          special: first.special,
          replace: true,
        }),
      );
      return;
    }
    await this.mapBatchCall({
      addressSpaceId: BigInt(asid),
      pages: pages.map((p) => ({
        address: canonicalFromVa48(p.va),
        pfn: BigInt(p.pfn),
        pgprot: pgprotToWire(pageProt(p)),
        special: p.special,
      })),
      replace: true,
    });
  }

  /** One PagemapRanges call for every range (more only past MAX_PAGEMAP_PAGES pages). */
  async pagemap(asid: number, ranges: readonly VaRange[]): Promise<PagemapEntry[]> {
    const out: PagemapEntry[] = [];
    for (const call of callsOf(
      ranges.map((range) => ({ range, extra: null })),
      MAX_PAGEMAP_PAGES,
    )) {
      const res = await this.pagemapRangesCall({
        addressSpaceId: BigInt(asid),
        ranges: call.map((p) => ({ address: canonicalFromVa48(p.start), count: p.count })),
      });
      for (const e of res.entries) {
        out.push({
          va: userVa('entries.address', e.address),
          present: e.present,
          pfn: e.present ? toNumber('entries.pfn', e.pfn) : null,
          special: e.special,
          exclusive: e.exclusive,
          writable: e.present && !e.special && e.writable,
          dirty: e.dirty,
          young: e.accessed,
        });
      }
    }
    return out;
  }

  /**
   * User accesses on ACCESS_CPU: the address space is loaded (SwitchCpu) before each batch, since
   * other clients of the mmu may use that CPU too, then the batch goes down one StreamAccesses call.
   */
  async access(asid: number, accesses: readonly UserAccess[]): Promise<AccessOutcome[]> {
    if (!accesses.length) return [];
    await this.switchCpu({ cpu: ACCESS_CPU, addressSpaceId: BigInt(asid) });
    this.loaded.add(asid);
    const res = await this.accessBatch({
      batchId: 0n,
      accesses: accesses.map((a) => ({
        cpu: ACCESS_CPU,
        address: canonicalFromVa48(a.va),
        op: a.write ? AccessOp.ACCESS_OP_WRITE : AccessOp.ACCESS_OP_READ,
        user: true,
        length: a.write ? 0 : 1,
        data: a.write ? Buffer.from(a.data ?? new Uint8Array(1)) : Buffer.alloc(0),
      })),
    });
    if (res.failure) throw new Error(`mmu refused an access batch: ${res.failure}`);
    return res.results.map((r): AccessOutcome => {
      const result = r.result;
      if (result?.$case === 'data') return { kind: 'ok', data: new Uint8Array(result.value) };
      if (result?.$case === 'pageFault')
        return { kind: 'fault', write: (result.value.errorCode & X86_PF_WRITE) !== 0 };
      if (result?.$case === 'skipped') return { kind: 'skipped' };
      return { kind: 'fault', write: false };
    });
  }

  private accessBatch(req: StreamAccessesRequest): Promise<StreamAccessesResponse> {
    return new Promise((resolve, reject) => {
      const stream = this.client.streamAccesses();
      let answer: StreamAccessesResponse | undefined;
      stream.on('data', (r: StreamAccessesResponse) => (answer ??= r));
      stream.on('error', reject);
      stream.on('end', () =>
        answer ? resolve(answer) : reject(new Error('mmu ended the access stream unanswered')),
      );
      stream.write(req);
      stream.end();
    });
  }
}

function samePgprot(a: { lo: number; hi: number }, b: { lo: number; hi: number }): boolean {
  return a.lo === b.lo && a.hi === b.hi;
}

/** The vma-manager's MmuPort over an mmu service client. */
export function grpcMmuPort(client: MmuServiceClient): MmuPort {
  return new GrpcMmuPort(client);
}
