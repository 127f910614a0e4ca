/**
 * The x86 side of a user page fault (arch/x86/mm/fault.c do_user_addr_fault): the hardware error
 * code decides read or write and whether access_error() refuses before handle_mm_fault runs, and
 * the outcome is the signal Linux would deliver with its si_code.
 */
import { X86_PF_INSTR, X86_PF_PROT, X86_PF_RSVD, X86_PF_USER, X86_PF_WRITE } from '@pagemesh/mmu';
import { VmaDomainError } from '../errors';
import type { FaultBatch } from '../fault-batch';
import type { FaultResult, MmProcess } from '../process';

/** X86_PF_PK: protection-keys violation (arch/x86/include/asm/trap_pf.h, bit 5). */
export const X86_PF_PK = 1 << 5;
/** X86_PF_SHSTK: shadow-stack access (bit 6). */
export const X86_PF_SHSTK = 1 << 6;
/** X86_PF_SGX: an SGX EPCM violation (bit 15). */
export const X86_PF_SGX = 1 << 15;
/** Every error-code bit the hardware defines for a page fault. */
const KNOWN_BITS =
  X86_PF_PROT |
  X86_PF_WRITE |
  X86_PF_USER |
  X86_PF_RSVD |
  X86_PF_INSTR |
  X86_PF_PK |
  X86_PF_SHSTK |
  X86_PF_SGX;
/** The user half of va48 (TASK_SIZE rounded up to the 128 TiB boundary). */
const USER_VA_LIMIT = 2 ** 47;
const VA48_LIMIT = 2 ** 48;

/**
 * What a fault ended with: handled (the access can be retried), or the signal and si_code Linux
 * sends: SIGSEGV SEGV_MAPERR (no VMA), SIGSEGV SEGV_ACCERR (a VMA that forbids the access),
 * SIGBUS (VM_FAULT_SIGBUS: past the end of a shmem object, a shared anonymous do_anonymous_page).
 */
export type FaultOutcome = 'handled' | 'sigsegv-maperr' | 'sigsegv-accerr' | 'sigbus';

/** Whether checkFault takes the fault (without building its message). */
export function faultIsValid(address: number, errorCode: number): boolean {
  return (
    Number.isSafeInteger(address) &&
    address >= 0 &&
    address < VA48_LIMIT &&
    Number.isInteger(errorCode) &&
    errorCode >= 0 &&
    errorCode < 2 ** 32 &&
    (errorCode & ~KNOWN_BITS) === 0 &&
    (errorCode & X86_PF_RSVD) === 0
  );
}

/** Refuses a fault no user access can raise: a va48 outside [0, 2^48), unknown bits, RSVD. */
export function checkFault(at: string, address: number, errorCode: number): void {
  if (!Number.isSafeInteger(address) || address < 0 || address >= VA48_LIMIT)
    throw new VmaDomainError('invalid-argument', `${at}.address`, address, 'not a va48 address');
  if (!Number.isInteger(errorCode) || errorCode < 0 || errorCode >= 2 ** 32 || errorCode & ~KNOWN_BITS)
    throw new VmaDomainError(
      'invalid-argument',
      `${at}.error_code`,
      errorCode,
      'not an x86 page-fault error code',
    );
  if (errorCode & X86_PF_RSVD)
    throw new VmaDomainError(
      'invalid-argument',
      `${at}.error_code`,
      errorCode,
      'a reserved-bit fault is pgtable_bad (a kernel oops), not a fault to handle',
    );
}

/**
 * do_user_addr_fault for a checked fault. A read or fetch of a present page, or a protection-key
 * fault, is refused by access_error() whatever the VMA allows (SEGV_ACCERR if a VMA is there);
 * kernel-half addresses have no VMA (SEGV_MAPERR); everything else goes to MmProcess.fault, whose
 * SIGSEGV is SEGV_ACCERR when a VMA covers the address (after any stack expansion), else MAPERR.
 */
export async function handleFault(
  proc: MmProcess,
  address: number,
  errorCode: number,
): Promise<FaultOutcome> {
  const refused = refusedBeforeHandler(proc, address, errorCode);
  if (refused) return refused;
  return outcomeOf(proc, address, await proc.fault(address, (errorCode & X86_PF_WRITE) !== 0));
}

/**
 * Faults of one process, handled in order as handleFault would handle them one by one, with
 * their page-table work sent in batches (see FaultBatch). Each signal is classified when its
 * fault is decided, so that a later fault's stack expansion does not change it.
 */
export async function handleFaultBatch(
  proc: MmProcess,
  faults: readonly { readonly address: number; readonly errorCode: number }[],
): Promise<FaultOutcome[]> {
  const batch: FaultBatch = proc.faultBatch(faults.map((f) => f.address));
  const out: FaultOutcome[] = new Array(faults.length);
  for (let i = 0; i < faults.length; i++) {
    const { address, errorCode } = faults[i];
    const refused = refusedBeforeHandler(proc, address, errorCode);
    if (refused) {
      out[i] = refused;
      continue;
    }
    let r = batch.fault(i, (errorCode & X86_PF_WRITE) !== 0);
    if (typeof r !== 'string') r = await r;
    out[i] = r === 'ok' ? 'handled' : outcomeOf(proc, address, r);
  }
  await batch.flush();
  return out;
}

/** What do_user_addr_fault refuses before handle_mm_fault; null when the handler runs. */
function refusedBeforeHandler(proc: MmProcess, address: number, errorCode: number): FaultOutcome | null {
  if (address >= USER_VA_LIMIT) return 'sigsegv-maperr';
  const write = (errorCode & X86_PF_WRITE) !== 0;
  if (errorCode & X86_PF_PK || (errorCode & X86_PF_PROT && !write))
    return proc.mm.vmas.lookup(address) !== undefined ? 'sigsegv-accerr' : 'sigsegv-maperr';
  return null;
}

function outcomeOf(proc: MmProcess, address: number, r: FaultResult): FaultOutcome {
  if (r === 'ok') return 'handled';
  if (r === 'SIGBUS') return 'sigbus';
  return proc.mm.vmas.lookup(address) !== undefined ? 'sigsegv-accerr' : 'sigsegv-maperr';
}
