/**
 * VMA-level behaviour of cases the oracle recorded with page faults in them: the fault's effect
 * on the VMA (a write fault gives a private VMA its anon_vma) is applied with anonVmaPrepare, and
 * the maps lines are the kernel's from ../shared/oracle/expected.
 */
import { Machine, ORACLE_MACHINE } from './machine';
import { MmStruct } from './mm-struct';
import * as M from './mman';
import { mmap } from './mmap';
import { munmap } from './munmap';
import { mprotect } from './mprotect';
import { mremap } from './mremap';
import { madvise } from './madvise';
import { mlock, munlock } from './mlock';
import { mseal } from './mseal';
import { anonVmaPrepare } from './populate';
import { procMapsLines, procMaps } from './proc-maps';
import { procSmaps, procStatusMemory } from './proc-smaps';
import { checkMmInvariants } from './vma-invariants';
import { VM_ACCOUNT, VM_LOCKED, hasAny } from './vm-flags';

const A = 0x7e00_0000_0000;
const RW = M.PROT_READ | M.PROT_WRITE;
const NOREPLACE = M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_FIXED_NOREPLACE;
const SHARED = M.MAP_SHARED | M.MAP_ANONYMOUS | M.MAP_FIXED_NOREPLACE;

function fresh(): MmStruct {
  return new MmStruct(new Machine());
}

/** The VMA-side effect of a write fault on [addr, addr+len). */
function written(mm: MmStruct, addr: number): void {
  const v = mm.vmas.lookup(addr);
  if (!v) throw new Error(`no VMA at ${addr.toString(16)}`);
  anonVmaPrepare(mm, v);
}

const anon = (s: number, e: number, p = 'rw-p') =>
  `${s.toString(16)}-${e.toString(16)} ${p} 00000000 00:00 0 `;

describe('merges that depend on the anon_vma', () => {
  it('two separately written VMAs do not merge; a filler joins the left one (merge_anon_vma_conflict)', () => {
    const mm = fresh();
    mmap(mm, A, 0x1000, RW, NOREPLACE);
    written(mm, A);
    mmap(mm, A + 0x2000, 0x1000, RW, NOREPLACE);
    written(mm, A + 0x2000);
    mmap(mm, A + 0x1000, 0x1000, RW, NOREPLACE);
    expect(procMapsLines(mm)).toEqual([anon(A, A + 0x2000), anon(A + 0x2000, A + 0x3000)]);
    expect(checkMmInvariants(mm)).toBeNull();
  });

  it('a written VMA keeps VM_ACCOUNT when made read-only and does not merge with a fresh r-- one (nomerge_vm_account)', () => {
    const mm = fresh();
    mmap(mm, A + 0x8000, 0x2000, RW, NOREPLACE);
    written(mm, A + 0x8000);
    mprotect(mm, A + 0x8000, 0x2000, M.PROT_READ);
    mmap(mm, A + 0xa000, 0x2000, M.PROT_READ, NOREPLACE);
    expect(mm.mapCount).toBe(2);
    mprotect(mm, A + 0xa000, 0x2000, RW);
    mprotect(mm, A + 0x8000, 0x4000, M.PROT_READ);
    // the fresh one, made writable then read-only again, never had an anon_vma and drops `ac`;
    // the written one keeps it: two r--p VMAs side by side
    expect(procMapsLines(mm)).toEqual([
      anon(A + 0x8000, A + 0xa000, 'r--p'),
      anon(A + 0xa000, A + 0xc000, 'r--p'),
    ]);
    expect(mm.vmas.all().map((v) => hasAny(v.vmFlags, VM_ACCOUNT))).toEqual([true, false]);
  });

  it('a never-written VMA drops VM_ACCOUNT when made read-only and merges (nomerge_vm_account)', () => {
    const mm = fresh();
    mmap(mm, A, 0x2000, RW, NOREPLACE);
    mprotect(mm, A, 0x2000, M.PROT_READ);
    mmap(mm, A + 0x2000, 0x2000, M.PROT_READ, NOREPLACE);
    expect(procMapsLines(mm)).toEqual([anon(A, A + 0x4000, 'r--p')]);
  });

  it('MAP_FIXED over the middle of a written VMA gives one VMA again (mmap_fixed_replace)', () => {
    const mm = fresh();
    mmap(mm, A, 0x8000, RW, NOREPLACE);
    written(mm, A);
    expect(mmap(mm, A + 0x2000, 0x2000, RW, M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_FIXED)).toEqual({
      ret: A + 0x2000,
    });
    expect(procMapsLines(mm)).toEqual([anon(A, A + 0x8000)]);
  });
});

describe('mremap', () => {
  it('grows in place into free space (mremap_grow_in_place)', () => {
    const mm = fresh();
    mmap(mm, A, 0x4000, RW, NOREPLACE);
    written(mm, A);
    expect(mremap(mm, A, 0x4000, 0x8000, 0)).toEqual({ ret: A });
    expect(procMapsLines(mm)).toEqual([anon(A, A + 0x8000)]);
    expect(mm.totalVm).toBe(8);
  });

  it('a moved written VMA keeps its page offset and does not merge (mremap_move_merge_touched)', () => {
    const mm = fresh();
    mmap(mm, A, 0x2000, RW, NOREPLACE);
    mmap(mm, A + 0x10000, 0x2000, RW, NOREPLACE);
    written(mm, A + 0x10000);
    expect(mremap(mm, A + 0x10000, 0x2000, 0x2000, M.MREMAP_MAYMOVE | M.MREMAP_FIXED, A + 0x2000)).toEqual({
      ret: A + 0x2000,
    });
    expect(procMapsLines(mm)).toEqual([anon(A, A + 0x2000), anon(A + 0x2000, A + 0x4000)]);
  });

  it('a moved never-faulted VMA merges at its destination', () => {
    const mm = fresh();
    mmap(mm, A, 0x2000, RW, NOREPLACE);
    mmap(mm, A + 0x10000, 0x2000, RW, NOREPLACE);
    mremap(mm, A + 0x10000, 0x2000, 0x2000, M.MREMAP_MAYMOVE | M.MREMAP_FIXED, A + 0x2000);
    expect(procMapsLines(mm)).toEqual([anon(A, A + 0x4000)]);
  });

  it('moves a range of three VMAs, keeps them, refuses to resize it, shrinks it (mremap_multi_vma_move)', () => {
    const mm = fresh();
    mmap(mm, A, 0x2000, RW, NOREPLACE);
    mmap(mm, A + 0x2000, 0x2000, M.PROT_READ, NOREPLACE);
    mmap(mm, A + 0x4000, 0x2000, RW, NOREPLACE);
    written(mm, A);
    const B = A + 0x10000;
    expect(mremap(mm, A, 0x6000, 0x6000, M.MREMAP_MAYMOVE | M.MREMAP_FIXED, B)).toEqual({ ret: B });
    expect(procMapsLines(mm)).toEqual([
      anon(B, B + 0x2000),
      anon(B + 0x2000, B + 0x4000, 'r--p'),
      anon(B + 0x4000, B + 0x6000),
    ]);
    expect(mremap(mm, B, 0x6000, 0x8000, M.MREMAP_MAYMOVE | M.MREMAP_FIXED, A + 0x20000)).toEqual({
      errno: 'EFAULT',
    });
    expect(mremap(mm, B, 0x6000, 0x4000, 0)).toEqual({ ret: B });
    expect(procMapsLines(mm)).toEqual([anon(B, B + 0x2000), anon(B + 0x2000, B + 0x4000, 'r--p')]);
  });

  it('DONTUNMAP leaves the source in place, empty (mremap_dontunmap)', () => {
    const mm = fresh();
    mmap(mm, A, 0x4000, RW, NOREPLACE);
    written(mm, A);
    const r = mremap(
      mm,
      A,
      0x4000,
      0x4000,
      M.MREMAP_MAYMOVE | M.MREMAP_DONTUNMAP | M.MREMAP_FIXED,
      A + 0x10000,
    );
    expect(r).toEqual({ ret: A + 0x10000 });
    expect(procMapsLines(mm)).toEqual([anon(A, A + 0x4000), anon(A + 0x10000, A + 0x14000)]);
    expect(mm.vmas.lookup(A)?.anonVma).toBeNull();
  });

  it('old_len 0 duplicates a shared mapping, is EINVAL for a private one (mremap_shared_duplicate)', () => {
    const mm = fresh();
    mmap(mm, A, 0x2000, RW, SHARED);
    expect(mremap(mm, A, 0, 0x2000, M.MREMAP_MAYMOVE | M.MREMAP_FIXED, A + 0x8000)).toEqual({
      ret: A + 0x8000,
    });
    const [a, b] = mm.vmas.all();
    expect(a.file).toBe(b.file);
    expect(procMapsLines(mm)[1]).toMatch(
      /^7e0000008000-7e000000a000 rw-s 00000000 00:01 \d+ +\/dev\/zero \(deleted\)$/,
    );
    mmap(mm, A + 0x10000, 0x2000, RW, NOREPLACE);
    expect(mremap(mm, A + 0x10000, 0, 0x2000, M.MREMAP_MAYMOVE | M.MREMAP_FIXED, A + 0x18000)).toEqual({
      errno: 'EINVAL',
    });
  });

  it('without MAYMOVE a blocked growth is ENOMEM; with it the mapping leaves for a kernel-chosen address', () => {
    const mm = fresh();
    mmap(mm, A, 0x2000, RW, NOREPLACE);
    mmap(mm, A + 0x2000, 0x1000, M.PROT_READ, NOREPLACE);
    expect(mremap(mm, A, 0x2000, 0x4000, 0)).toEqual({ errno: 'ENOMEM' });
    const r = mremap(mm, A, 0x2000, 0x4000, M.MREMAP_MAYMOVE);
    expect('ret' in r && r.ret > A + 0x8000_0000_00).toBe(true);
    expect(mm.vmas.lookup(A)).toBeUndefined();
    expect(checkMmInvariants(mm)).toBeNull();
  });
});

describe('errors with side effects', () => {
  it('mprotect over a hole changes the part before it and returns ENOMEM', () => {
    const mm = fresh();
    mmap(mm, A, 0x2000, RW, NOREPLACE);
    mmap(mm, A + 0x4000, 0x2000, RW, NOREPLACE);
    expect(mprotect(mm, A, 0x6000, M.PROT_READ)).toEqual({ errno: 'ENOMEM' });
    expect(procMapsLines(mm)).toEqual([anon(A, A + 0x2000, 'r--p'), anon(A + 0x4000, A + 0x6000)]);
  });

  it('madvise over a hole applies to both sides, then ENOMEM', () => {
    const mm = fresh();
    mmap(mm, A, 0x2000, RW, NOREPLACE);
    mmap(mm, A + 0x4000, 0x2000, RW, NOREPLACE);
    expect(madvise(mm, A + 0x1000, 0x4000, M.MADV_RANDOM)).toEqual({ errno: 'ENOMEM' });
    expect(mm.mapCount).toBe(4);
  });

  it('mlock on PROT_NONE sets VM_LOCKED but returns ENOMEM; munlock merges back (mlock_split)', () => {
    const mm = fresh();
    mmap(mm, A, 0x4000, M.PROT_NONE, NOREPLACE);
    expect(mlock(mm, A + 0x1000, 0x1000)).toEqual({ errno: 'ENOMEM' });
    expect(mm.mapCount).toBe(3);
    expect(hasAny(mm.vmas.get(1).vmFlags, VM_LOCKED)).toBe(true);
    expect(mm.lockedVm).toBe(1);
    expect(munlock(mm, A + 0x1000, 0x1000)).toEqual({ ret: 0 });
    expect(mm.mapCount).toBe(1);
    expect(mm.lockedVm).toBe(0);
  });

  it('munmap into a sealed VMA is EPERM and keeps the split done before it', () => {
    const mm = fresh();
    mmap(mm, A, 0x2000, RW, NOREPLACE);
    mmap(mm, A + 0x2000, 0x2000, M.PROT_READ, NOREPLACE);
    mseal(mm, A + 0x2000, 0x2000);
    expect(munmap(mm, A + 0x1000, 0x2000)).toEqual({ errno: 'EPERM' });
    expect(mm.mapCount).toBe(3);
  });

  it('mprotect to writable is charged: 256 GiB r-- cannot become rw- on 24 GiB without swap', () => {
    const mm = fresh();
    expect(mmap(mm, A, 256 * 2 ** 30, M.PROT_READ, NOREPLACE)).toEqual({ ret: A });
    expect(mprotect(mm, A, 256 * 2 ** 30, RW)).toEqual({ errno: 'ENOMEM' });
    expect(mm.machine.committedPages).toBe(0);
  });

  it('max_map_count: a split past the limit is ENOMEM', () => {
    const mm = new MmStruct(new Machine({ ...ORACLE_MACHINE, maxMapCount: 3 }));
    mmap(mm, A, 0x8000, RW, NOREPLACE);
    mprotect(mm, A + 0x1000, 0x1000, M.PROT_READ);
    expect(mm.mapCount).toBe(3);
    expect(mprotect(mm, A + 0x5000, 0x1000, M.PROT_READ)).toEqual({ errno: 'ENOMEM' });
    expect(munmap(mm, A + 0x5000, 0x1000)).toEqual({ errno: 'ENOMEM' });
    expect(mmap(mm, A + 0x10000, 0x1000, RW, NOREPLACE)).toEqual({ ret: A + 0x10000 });
    expect(mmap(mm, A + 0x20000, 0x1000, RW, NOREPLACE)).toEqual({ errno: 'ENOMEM' });
  });
});

describe('placement', () => {
  it('honours a free hint, refuses one inside the stack guard gap (growsdown_stack_gap)', () => {
    const mm = fresh();
    mmap(mm, A + 0x3fc000, 0x14000, RW, NOREPLACE | M.MAP_GROWSDOWN);
    const refused = mmap(mm, A + 0x384000, 0x1000, RW, M.MAP_PRIVATE | M.MAP_ANONYMOUS);
    expect('ret' in refused && refused.ret !== A + 0x384000).toBe(true);
    expect(mmap(mm, A + 0x2bc000, 0x1000, RW, M.MAP_PRIVATE | M.MAP_ANONYMOUS)).toEqual({
      ret: A + 0x2bc000,
    });
  });

  it('places top-down below mmap_base without a hint', () => {
    const mm = fresh();
    const a = mmap(mm, 0, 0x1000, RW, M.MAP_PRIVATE | M.MAP_ANONYMOUS);
    const b = mmap(mm, 0, 0x2000, RW, M.MAP_PRIVATE | M.MAP_ANONYMOUS);
    expect(a).toEqual({ ret: mm.mmapBase - 0x1000 });
    expect(b).toEqual({ ret: mm.mmapBase - 0x3000 });
    expect(mm.mapCount).toBe(1);
  });
});

describe('/proc', () => {
  it('prints maps, smaps and status in the kernel format', () => {
    const mm = fresh();
    mmap(mm, A, 0x4000, RW, NOREPLACE);
    mmap(mm, A + 0x8000, 0x2000, RW, SHARED);
    mprotect(mm, A + 0x9000, 0x1000, M.PROT_READ);
    const maps = procMaps(mm).split('\n');
    expect(maps[0]).toBe('7e0000000000-7e0000004000 rw-p 00000000 00:00 0 ');
    expect(maps[2]).toMatch(
      /^7e0000009000-7e000000a000 r--s 00001000 00:01 \d+ {2,}\/dev\/zero \(deleted\)$/,
    );
    expect(maps[2].indexOf('/dev/zero')).toBe(73);
    const smaps = procSmaps(mm);
    expect(smaps).toContain('Size:                 16 kB\n');
    expect(smaps).toContain('VmFlags: rd wr mr mw me ac \n');
    expect(smaps).toContain('VmFlags: rd sh mr mw me ms \n');
    expect(procStatusMemory(mm)).toContain('VmSize:\t      24 kB\n');
  });
});
