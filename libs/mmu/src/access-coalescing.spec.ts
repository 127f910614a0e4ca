import type { PhysOp } from './ports';
import { Mmu } from './mmu';
import { pgprot } from './paging/pte-bits';
import { FakePageAllocatorPort } from './testing/fake-page-allocator-port';

const USER_VA = 0x7f0000000000;

/** The fake port, remembering the transfers it was asked for. */
class RecordingPort extends FakePageAllocatorPort {
  transfers: PhysOp[][] = [];
  override async transferPhys(ops: readonly PhysOp[]): Promise<Uint8Array[]> {
    this.transfers.push([...ops]);
    return super.transferPhys(ops);
  }
}

async function setup() {
  const port = new RecordingPort('x86_64', 64 * 2 ** 20);
  const mmu = await Mmu.boot(port, { cpus: 1 });
  const asid = await mmu.createAddressSpace();
  const first = port.takePage();
  port.takePage(); // a gap, so that the two user pages are apart in physical memory
  const pages = [first, port.takePage()];
  await mmu.mapPages(asid, USER_VA, pages, pgprot(0x67, true)); // P|RW|US|A|D
  mmu.switchTo(0, asid);
  return { port, mmu, pages };
}

describe('access batches: small reads of the same pages go to RAM as one read', () => {
  it('fetches a run of nearby reads once and hands each access its own bytes', async () => {
    const { port, mmu } = await setup();
    await mmu.accessBatch(
      Array.from({ length: 64 }, (_, i) => ({
        cpu: 0,
        va: USER_VA + i * 64,
        op: 'write' as const,
        user: true,
        data: Uint8Array.of(i),
      })),
    );
    port.transfers = [];
    const reads = await mmu.accessBatch(
      Array.from({ length: 64 }, (_, i) => ({
        cpu: 0,
        va: USER_VA + i * 64,
        op: 'read' as const,
        user: true,
        length: 2,
      })),
    );
    expect(reads.map((r) => (r.kind === 'ok' ? [...(r.data as Uint8Array)] : r.kind))).toEqual(
      Array.from({ length: 64 }, (_, i) => [i, 0]),
    );
    expect(port.transfers).toHaveLength(1);
    expect(port.transfers[0]).toEqual([{ op: 'read', paddr: expect.any(Number), length: 63 * 64 + 2 }]);
  });

  it('keeps reads and writes in order: a read after a write sees it, one before does not', async () => {
    const { port, mmu } = await setup();
    port.transfers = [];
    const out = await mmu.accessBatch([
      { cpu: 0, va: USER_VA, op: 'read', user: true, length: 1 },
      { cpu: 0, va: USER_VA + 8, op: 'read', user: true, length: 1 },
      { cpu: 0, va: USER_VA, op: 'write', user: true, data: Uint8Array.of(7) },
      { cpu: 0, va: USER_VA, op: 'read', user: true, length: 1 },
    ]);
    expect(out.map((r) => (r.kind === 'ok' && r.data ? r.data[0] : r.kind))).toEqual([0, 0, 'ok', 7]);
    expect(port.transfers[0].map((op) => op.op)).toEqual(['read', 'write', 'read']);
  });

  it('does not join reads of pages that are apart in physical memory', async () => {
    const { port, mmu, pages } = await setup();
    expect(pages[1] - pages[0]).toBe(2);
    port.transfers = [];
    await mmu.accessBatch([
      { cpu: 0, va: USER_VA + 4000, op: 'read', user: true, length: 8 },
      { cpu: 0, va: USER_VA + 4096, op: 'read', user: true, length: 8 },
    ]);
    expect(port.transfers[0]).toEqual([
      { op: 'read', paddr: pages[0] * 4096 + 4000, length: 8 },
      { op: 'read', paddr: pages[1] * 4096, length: 8 },
    ]);
  });
});
