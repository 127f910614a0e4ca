import { PAGE_SHIFT, PAGE_SIZE } from '@pagemesh/uapi';

/**
 * The bytes of physical memory, stored sparsely: a page frame costs memory only once written.
 * A frame never written (or zeroed) reads as zeros. Contents are not cleared on free, as on real
 * hardware; only __GFP_ZERO and the clear/zero paths drop them.
 */
export class Ram {
  private readonly frames = new Map<number, Uint8Array>();

  /** Frames holding data (for memory accounting and tests). */
  get residentFrames(): number {
    return this.frames.size;
  }

  read(paddr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const pa = paddr + done;
      const pfn = Math.floor(pa / PAGE_SIZE);
      const off = pa - pfn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, length - done);
      const frame = this.frames.get(pfn);
      if (frame) out.set(frame.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  write(paddr: number, bytes: Uint8Array): void {
    let done = 0;
    const length = bytes.length;
    while (done < length) {
      const pa = paddr + done;
      const pfn = Math.floor(pa / PAGE_SIZE);
      const off = pa - pfn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, length - done);
      let frame = this.frames.get(pfn);
      if (!frame) {
        frame = new Uint8Array(PAGE_SIZE);
        this.frames.set(pfn, frame);
      }
      frame.set(bytes.subarray(done, done + n), off);
      done += n;
    }
  }

  /** Zero a byte range (memset 0); whole frames are simply dropped. */
  zero(paddr: number, length: number): void {
    let done = 0;
    while (done < length) {
      const pa = paddr + done;
      const pfn = Math.floor(pa / PAGE_SIZE);
      const off = pa - pfn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, length - done);
      const frame = this.frames.get(pfn);
      if (frame) {
        if (n === PAGE_SIZE) this.frames.delete(pfn);
        else frame.fill(0, off, off + n);
      }
      done += n;
    }
  }

  /** clear_page() for nr consecutive frames. */
  zeroFrames(pfn: number, nr: number): void {
    if (this.frames.size === 0) return;
    if (nr > this.frames.size) {
      for (const key of this.frames.keys()) if (key >= pfn && key < pfn + nr) this.frames.delete(key);
      return;
    }
    for (let i = 0; i < nr; i++) this.frames.delete(pfn + i);
  }

  /** copy_page() */
  copyFrame(dstPfn: number, srcPfn: number): void {
    const src = this.frames.get(srcPfn);
    if (!src) this.frames.delete(dstPfn);
    else this.frames.set(dstPfn, src.slice());
  }

  static pfnOf(paddr: number): number {
    return Math.floor(paddr / 2 ** PAGE_SHIFT);
  }
}
