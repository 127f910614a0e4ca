import { ACC_FETCH, ACC_USER, ACC_WRITE } from './tlb/tlb';

/**
 * x86 page-fault error code bits (arch/x86/include/asm/trap_pf.h). An access is described with
 * the same bits (WRITE, USER, INSTR), so a fault's code is the access code plus PROT/RSVD.
 */
export const X86_PF_PROT = 0x1;
export const X86_PF_WRITE = 0x2;
export const X86_PF_USER = 0x4;
export const X86_PF_RSVD = 0x8;
export const X86_PF_INSTR = 0x10;

export type AccessOp = 'read' | 'write' | 'fetch';

/** One CPU access. `va` is a va48 (or NON_CANONICAL, which is #GP). */
export interface Access {
  readonly cpu: number;
  readonly va: number;
  readonly op: AccessOp;
  /** CPL 3 (user mode) when true, the kernel otherwise. */
  readonly user: boolean;
  /** Bytes to read or fetch (1..MAX_ACCESS_BYTES); a write's length is its data's. */
  readonly length?: number;
  readonly data?: Uint8Array;
  /** EFLAGS.AC (stac, as copy_to_user/copy_from_user run): a kernel data access SMAP lets through. */
  readonly ac?: boolean;
}

export type AccessResult =
  | { readonly kind: 'ok'; readonly data?: Uint8Array }
  /** #PF: CR2 and the error code. */
  | { readonly kind: 'page-fault'; readonly address: number; readonly errorCode: number }
  /** #GP: a non-canonical address; no fault address. */
  | { readonly kind: 'general-protection' }
  /** Not performed: an earlier access of the same CPU in the batch faulted. */
  | { readonly kind: 'skipped' };

/** Largest single access (bytes). */
export const MAX_ACCESS_BYTES = 1 << 20;

/** translate() flag for EFLAGS.AC: with SMAP, a supervisor data access to a user page is allowed. */
export const ACC_AC = 0x100;

/** The access-code bits of an operation. */
export function accessCode(op: AccessOp, user: boolean, ac = false): number {
  const u = (user ? ACC_USER : 0) | (ac ? ACC_AC : 0);
  if (op === 'write') return ACC_WRITE | u;
  if (op === 'fetch') return ACC_FETCH | u;
  return u;
}

/**
 * translate() returns a physical address (>= 0) or one of these: -(errorCode + 1) for a page
 * fault, TRANSLATE_GP for a general-protection fault. Numbers, so the hot path allocates nothing.
 */
export const TRANSLATE_GP = -0x100000;

export function isPageFault(result: number): boolean {
  return result < 0 && result !== TRANSLATE_GP;
}

/** The error code of a page-fault result of translate(). */
export function pageFaultCode(result: number): number {
  return -result - 1;
}

/** The #PF line of show_fault_oops (arch/x86/mm/fault.c) for an error code. */
export function describePageFault(errorCode: number): string {
  const who = errorCode & X86_PF_USER ? 'user' : 'supervisor';
  const what =
    errorCode & X86_PF_INSTR
      ? 'instruction fetch'
      : errorCode & X86_PF_WRITE
        ? 'write access'
        : 'read access';
  const mode = errorCode & X86_PF_USER ? 'user' : 'kernel';
  const why = !(errorCode & X86_PF_PROT)
    ? 'not-present page'
    : errorCode & X86_PF_RSVD
      ? 'reserved bit violation'
      : 'permissions violation';
  return `#PF: ${who} ${what} in ${mode} mode\n#PF: error_code(0x${errorCode.toString(16).padStart(4, '0')}) - ${why}`;
}
