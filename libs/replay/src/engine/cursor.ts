import { PAGE_SIZE } from '@pagemesh/uapi';
import type { ExpectationResult } from '../report/model';
import type { Addr, Op, PatternOp } from '../workload/model';
import { bytesToHex, hexToBytes } from '../workload/values';
import { describeExpectation, result } from './expectations';
import { generatePattern } from './patterns';
import type { AccessCursor } from './task';

/**
 * The accesses an op makes, ready to be sent in batches: `access` (one), `touch` (the first
 * byte of every stride), `pattern` (generated from `seedOf(op)`), and a `bytes` expectation
 * (the start of each page, read).
 */
export function makeCursor(
  op: Op,
  resolve: (addr: Addr) => number,
  seedOf: (op: PatternOp) => number,
): AccessCursor {
  const make = (
    vas: Float64Array,
    kind: AccessCursor['kind'],
    length: number,
    data: Uint8Array,
    writes: Uint8Array | null,
    keepReads: boolean,
  ): AccessCursor => ({
    op,
    vas,
    writes,
    kind,
    length,
    data,
    next: 0,
    faults: 0,
    lastFault: null,
    reads: keepReads ? [] : null,
    signal: null,
  });
  switch (op.op) {
    case 'access': {
      const data = hexToBytes(op.data);
      return make(
        Float64Array.of(resolve(op.addr)),
        op.kind,
        op.length,
        data,
        null,
        op.expect?.bytes !== undefined,
      );
    }
    case 'touch': {
      const base = resolve(op.addr);
      const n = Math.ceil(op.length / op.stride);
      const vas = new Float64Array(n);
      for (let i = 0; i < n; i++) vas[i] = base + i * op.stride;
      return make(vas, op.kind, 1, Uint8Array.of(op.value), null, op.expect?.bytes !== undefined);
    }
    case 'pattern': {
      const base = resolve(op.addr);
      const seed = seedOf(op);
      const g = generatePattern({ ...op, seed });
      for (let i = 0; i < g.offsets.length; i++) g.offsets[i] += base;
      return make(g.offsets, 'read', 1, Uint8Array.of(1), g.writes, op.expect?.bytes !== undefined);
    }
    case 'expect': {
      if (op.what.kind !== 'bytes') break;
      const base = resolve(op.what.addr);
      const vas = new Float64Array(op.what.pages);
      for (let i = 0; i < vas.length; i++) vas[i] = base + i * PAGE_SIZE;
      return make(vas, 'read', op.what.hex.length / 2, new Uint8Array(0), null, true);
    }
  }
  throw new Error(`${op.op} is not an access op`);
}

/**
 * The checks of a finished access op (its signal, code, fault index, faults handled, bytes
 * read), and for a `bytes` expectation the lines mmap-test would print, appended to `output`.
 * A signal the op did not expect is the engine's business (it kills the process) and not here.
 */
export function cursorResults(c: AccessCursor, output: string[]): ExpectationResult[] {
  const out: ExpectationResult[] = [];
  const op = c.op;
  const at = op.at;
  const expect = op.op === 'access' || op.op === 'touch' || op.op === 'pattern' ? op.expect : undefined;
  const sig = c.signal;
  const wanted = expect?.signal;
  if (expect && wanted !== undefined && wanted !== '*') {
    const ok = sig ? sig.name === wanted : wanted === null;
    out.push(
      result(
        at,
        wanted === null ? 'no signal' : `raises ${wanted}`,
        ok,
        sig ? `${sig.name} ${sig.code}` : 'no signal',
      ),
    );
  }
  if (expect?.code !== undefined) {
    out.push(
      result(at, `signal code ${expect.code}`, sig?.code === expect.code, sig ? sig.code : 'no signal'),
    );
  }
  if (expect?.faultIndex !== undefined) {
    out.push(
      result(
        at,
        `signal at access ${expect.faultIndex}`,
        sig?.index === expect.faultIndex,
        sig ? `at access ${sig.index}` : 'no signal',
      ),
    );
  }
  if (expect?.faults !== undefined) {
    out.push(result(at, `${expect.faults} faults`, c.faults === expect.faults, `${c.faults} faults`));
  }
  const wantBytes = expect?.bytes;
  if (wantBytes !== undefined) {
    const bad = (c.reads ?? []).findIndex(
      (d) => d === undefined || bytesToHex(d.subarray(0, wantBytes.length / 2)) !== wantBytes,
    );
    out.push(
      result(
        at,
        `reads ${wantBytes}`,
        bad < 0,
        bad < 0
          ? `${c.reads?.length} reads matched`
          : `read ${bad}: ${c.reads?.[bad] ? bytesToHex(c.reads[bad]) : 'none'}`,
      ),
    );
  }
  if (op.op === 'expect' && op.what.kind === 'bytes') {
    const want = op.what.hex;
    let matched = 0;
    (c.reads ?? []).forEach((d) => {
      const hex = d ? bytesToHex(d) : '';
      // mmap-test prints "matched" or the four bytes it saw
      if (hex === want) {
        matched++;
        output.push('matched');
      } else
        output.push(
          hex
            .match(/../g)
            ?.map((b) => `0x${parseInt(b, 16).toString(16)}`)
            .join(' ') ?? '(no data)',
        );
    });
    out.push(
      result(
        at,
        describeExpectation(op.what),
        matched === c.vas.length,
        `${matched} of ${c.vas.length} pages matched`,
      ),
    );
  }
  return out;
}
