import { VmFlag } from '@pagemesh/proto';
import { vmFlagsFromWire, vmFlagsToWire } from './vm-flags-wire';

describe('vm_flags on the wire', () => {
  it('maps the lab device VMA flags to their Linux bits and back', () => {
    // rd sh mr mw me ms pf io de dd: VM_READ|VM_SHARED|VM_MAY*|VM_PFNMAP|VM_IO|VM_DONTEXPAND|VM_DONTDUMP
    const flags = [
      VmFlag.VM_FLAG_READ,
      VmFlag.VM_FLAG_SHARED,
      VmFlag.VM_FLAG_MAYREAD,
      VmFlag.VM_FLAG_MAYWRITE,
      VmFlag.VM_FLAG_MAYEXEC,
      VmFlag.VM_FLAG_MAYSHARE,
      VmFlag.VM_FLAG_PFNMAP,
      VmFlag.VM_FLAG_IO,
      VmFlag.VM_FLAG_DONTEXPAND,
      VmFlag.VM_FLAG_DONTDUMP,
    ];
    const bits = vmFlagsFromWire(flags);
    expect(bits).toBe(0x1 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x400 | 0x4000 | 0x40000 | 0x4000000);
    expect(vmFlagsToWire(bits)).toEqual(flags);
  });

  it('keeps flags above bit 31', () => {
    expect(vmFlagsFromWire([VmFlag.VM_FLAG_SEALED])).toBe(2 ** 42);
    expect(vmFlagsToWire(2 ** 40 + 1)).toEqual([VmFlag.VM_FLAG_READ, VmFlag.VM_FLAG_DROPPABLE]);
  });

  it('refuses an unknown flag', () => {
    expect(() => vmFlagsFromWire([999 as VmFlag])).toThrow(/not a VM_\* flag/);
  });
});
