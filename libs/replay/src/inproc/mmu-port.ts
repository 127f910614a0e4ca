import { KERNEL_ASID, type Access, type Mmu } from '@pagemesh/mmu';
import type { AccessBatchResult, MmuPort, UserAccess } from '../ports';

/** The orchestrator's mmu port over an Mmu in the same process: user-mode accesses, CR3, TLB figures. */
export function inprocMmuPort(mmu: Mmu): MmuPort {
  return {
    async switchTo(cpu, asid) {
      mmu.switchTo(cpu, asid);
    },
    async idle(cpu) {
      mmu.switchTo(cpu, KERNEL_ASID);
    },
    async accessBatch(cpu: number, accesses: readonly UserAccess[]): Promise<AccessBatchResult> {
      const batch: Access[] = accesses.map((a) =>
        a.op === 'write'
          ? { cpu, va: a.va, op: 'write', user: true, data: a.data ?? Uint8Array.of(1) }
          : { cpu, va: a.va, op: a.op, user: true, length: a.length ?? 1 },
      );
      const results = await mmu.accessBatch(batch);
      const done: { data?: Uint8Array }[] = [];
      for (const r of results) {
        if (r.kind === 'ok') {
          done.push(r.data ? { data: r.data } : {});
          continue;
        }
        if (r.kind === 'page-fault')
          return { done, fault: { kind: 'page-fault', address: r.address, errorCode: r.errorCode } };
        if (r.kind === 'general-protection') return { done, fault: { kind: 'general-protection' } };
        break; // skipped: only after a fault, which returned above
      }
      return { done };
    },
    async tlbStats() {
      return Array.from({ length: mmu.cpuCount }, (_, cpu) => {
        const s = mmu.tlbStats(cpu);
        return { cpu, hits: s.hits, misses: s.misses };
      });
    },
    async pageTablePages() {
      return mmu.tablePages();
    },
  };
}
