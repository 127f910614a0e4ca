import { Ram } from './ram';
import { bootMachine } from './page-allocator';
import { InvalidArgumentError } from './errors';

describe('Ram', () => {
  it('reads zeros where nothing was written and stores only written frames', () => {
    const ram = new Ram();
    expect(Array.from(ram.read(123, 4))).toEqual([0, 0, 0, 0]);
    ram.write(4094, Uint8Array.of(1, 2, 3, 4)); // crosses a frame boundary
    expect(ram.residentFrames).toBe(2);
    expect(Array.from(ram.read(4093, 6))).toEqual([0, 1, 2, 3, 4, 0]);
    ram.zero(4095, 2);
    expect(Array.from(ram.read(4094, 4))).toEqual([1, 0, 0, 4]);
    ram.zeroFrames(0, 2);
    expect(ram.residentFrames).toBe(0);
  });

  it('copies frames', () => {
    const ram = new Ram();
    ram.write(4096, Uint8Array.of(9));
    ram.copyFrame(5, 1);
    expect(ram.read(5 * 4096, 1)[0]).toBe(9);
    ram.copyFrame(5, 7);
    expect(ram.read(5 * 4096, 1)[0]).toBe(0);
  });

  it('costs memory only for written pages on a 64 GiB machine', () => {
    const pa = bootMachine({ memBytes: 64 * 2 ** 30 });
    pa.writePhys(63 * 2 ** 30, Uint8Array.of(7));
    expect(pa.ram.residentFrames).toBe(1);
    expect(pa.readPhys(63 * 2 ** 30, 1)[0]).toBe(7);
  });

  it('validates ranges: in RAM, page-aligned for clearPages', () => {
    const pa = bootMachine({ memBytes: 16 * 2 ** 20 });
    expect(() => pa.clearPages(4097, 4096)).toThrow(InvalidArgumentError);
    expect(() => pa.clearPages(4096, 100)).toThrow(/length=100/);
    expect(() => pa.writePhys(16 * 2 ** 20, Uint8Array.of(1))).toThrow(/beyond the end of RAM/);
    expect(() =>
      pa.readPhysBatch([
        { paddr: 0, length: 1 },
        { paddr: -1, length: 1 },
      ]),
    ).toThrow(/paddr=-1/);
    pa.writePhysBatch([
      { paddr: 8192, bytes: Uint8Array.of(1) },
      { paddr: 8193, bytes: Uint8Array.of(2) },
    ]);
    expect(Array.from(pa.readPhysBatch([{ paddr: 8192, length: 2 }])[0])).toEqual([1, 2]);
    pa.clearPages(8192, 4096);
    const big = bootMachine({ memBytes: 128 * 2 ** 20 });
    expect(() => big.readPhys(0, 65 * 2 ** 20)).toThrow(/at most/);
    expect(pa.readPhys(8192, 1)[0]).toBe(0);
  });
});
