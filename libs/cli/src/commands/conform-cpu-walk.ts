/**
 * vmtrace's `touch` as a CPU makes it: one user access to the first byte of each page, in
 * address order, on the mmu's StreamAccesses; a page fault goes to the vma-manager's
 * HandleFaults (CR2 and the x86 error code) and the access is retried once it is handled; a
 * signal ends the walk.
 *
 * Fault-ahead. Over gRPC a fault costs two round trips (the access, the handler), and a 1 GiB
 * read walk takes 262144 of them. When the CPU takes a not-present fault in a private anonymous
 * VMA, the walk's next pages that are not present either and lie in the same VMA will fault in
 * turn with the same error code, and each will be handled: the first fault was handled, so the
 * VMA allows the access, and do_anonymous_page neither fails nor looks at the neighbours (no
 * fault-around, no SIGBUS, no stack growth inside a VMA). So the CPU delivers them with the first,
 * in one HandleFaults batch, in the walk's order: the handler sees the very faults, in the very
 * order, that one-by-one delivery would give, and the retried accesses then find the pages
 * mapped. Shared and file VMAs (fault-around, SIGBUS past the object's end) and protection faults
 * are delivered one by one. An outcome other than handled after the first fault of a batch means
 * that reasoning is wrong, and the walk stops with an error instead of an answer.
 */
import { X86_PF_PROT } from '@pagemesh/mmu';
import type { MapsLine } from '@pagemesh/vma-manager';

const PAGE = 4096;
/** User accesses per StreamAccesses batch. */
const ACCESS_CHUNK = 4096;
/** Faults per HandleFaults batch (the service's MAX_FAULTS_PER_BATCH). */
const MAX_FAULTS_PER_BATCH = 4096;
/**
 * Faults one access may take before the CPU gives up (SIGSEGV): a handled fault can be followed
 * by another of a different kind on the same page, never by the same one again.
 */
const MAX_FAULTS_PER_ACCESS = 3;

export type WalkFaultOutcome = 'handled' | 'sigsegv' | 'sigbus';

/** What the walk needs of the machine: the CPU (already switched to the process) and the kernel. */
export interface WalkMachine {
  access(
    accesses: readonly { va: number; op: 'read' | 'write'; data?: Uint8Array; length?: number }[],
  ): Promise<{
    done: readonly { data?: Uint8Array }[];
    fault?: { kind: 'page-fault'; address: number; errorCode: number } | { kind: 'general-protection' };
  }>;
  handleFaults(faults: readonly { address: number; errorCode: number }[]): Promise<WalkFaultOutcome[]>;
  /** pagemap's present bit of `count` pages from `va` */
  present(va: number, count: number): Promise<boolean[]>;
  /** the process's maps lines */
  maps(): Promise<MapsLine[]>;
}

export interface Walk {
  readonly done: number;
  readonly signal: 'SIGSEGV' | 'SIGBUS' | null;
  /** faults the handler completed (getrusage's ru_minflt: mm_account_fault counts each) */
  readonly minflt: number;
  /** the byte each read returned, in order */
  readonly bytes: number[];
}

/** A private anonymous VMA (perms `..p`, inode 0): where faults can be delivered ahead. */
function privateAnon(v: MapsLine): boolean {
  const [, perms, , , ino] = v.text.split(' ');
  return perms?.[3] === 'p' && ino === '0';
}

export async function walkPages(
  m: WalkMachine,
  addr: number,
  pages: number,
  write: boolean,
  value: number,
): Promise<Walk> {
  const data = write ? Uint8Array.of(value & 0xff) : undefined;
  const bytes: number[] = [];
  let done = 0;
  let minflt = 0;
  let last: { index: number; errorCode: number; count: number } | null = null;
  let maps: MapsLine[] | null = null;
  const stop = (signal: 'SIGSEGV' | 'SIGBUS'): Walk => ({ done, signal, minflt, bytes });
  while (done < pages) {
    const n = Math.min(ACCESS_CHUNK, pages - done);
    const batch = Array.from({ length: n }, (_, k) => {
      const va = addr + (done + k) * PAGE;
      return write ? { va, op: 'write' as const, data } : { va, op: 'read' as const, length: 1 };
    });
    const r = await m.access(batch);
    for (const d of r.done) if (!write) bytes.push(d.data ? d.data[0] : 0);
    done += r.done.length;
    const fault = r.fault;
    if (!fault) continue;
    if (fault.kind === 'general-protection') return stop('SIGSEGV');
    const again: boolean = last !== null && last.index === done;
    // the handler said it fixed this fault, yet the access takes it again
    if (last && again && (last.errorCode === fault.errorCode || last.count >= MAX_FAULTS_PER_ACCESS))
      return stop('SIGSEGV');
    const faults = [{ address: fault.address, errorCode: fault.errorCode }];
    if (!(fault.errorCode & X86_PF_PROT) && fault.address === addr + done * PAGE && done + 1 < pages) {
      maps ??= await m.maps();
      const vma = maps.find((v) => v.start <= fault.address && fault.address < v.end);
      if (vma && privateAnon(vma)) {
        const ahead = Math.min(
          pages - done - 1,
          (vma.end - fault.address) / PAGE - 1,
          MAX_FAULTS_PER_BATCH - 1,
        );
        const present = ahead > 0 ? await m.present(fault.address + PAGE, ahead) : [];
        for (let k = 0; k < ahead && !present[k]; k++)
          faults.push({ address: fault.address + (k + 1) * PAGE, errorCode: fault.errorCode });
      }
    }
    const outcomes = await m.handleFaults(faults);
    const [first] = outcomes;
    if (first !== 'handled') return stop(first === 'sigbus' ? 'SIGBUS' : 'SIGSEGV');
    const missed = outcomes.findIndex((o) => o !== 'handled');
    if (missed > 0)
      throw new Error(
        `fault-ahead: the fault at 0x${faults[missed].address.toString(16)} was not handled (${outcomes[missed]}), ` +
          'though an earlier one of the same VMA was',
      );
    minflt += outcomes.length;
    last = { index: done, errorCode: fault.errorCode, count: again && last ? last.count + 1 : 1 };
  }
  return { done, signal: null, minflt, bytes };
}
