/**
 * The oracle's operation-script format (../shared/oracle/README.md, parsed as src/vmtrace.c does):
 * one op per line, `#` comments, tokens separated by blanks, numbers in 0x-hex or decimal.
 */
import type { U64 } from '../u64';
import * as M from '../mman';

/** Thrown when a script line cannot be parsed; names the line and the offending token. */
export class OpsParseError extends Error {
  constructor(
    public readonly line: number,
    public readonly token: string,
    detail: string,
  ) {
    super(`line ${line}: ${detail} '${token}'`);
    this.name = 'OpsParseError';
  }
}

export type Op =
  | { kind: 'mmap'; addr: U64; len: U64; prot: number; flags: number; file: string | null; offset: U64 }
  | { kind: 'munmap'; addr: U64; len: U64 }
  | { kind: 'mprotect'; addr: U64; len: U64; prot: number }
  | { kind: 'mremap'; addr: U64; oldLen: U64; newLen: U64; flags: number; newAddr: U64; hasNewAddr: boolean }
  | { kind: 'madvise'; addr: U64; len: U64; advice: number }
  | { kind: 'mlock' | 'munlock' | 'mseal'; addr: U64; len: U64 }
  | { kind: 'touch' | 'fork-touch'; addr: U64; len: U64; write: boolean; value: number }
  | { kind: 'probe'; addr: U64 | null; len: U64 | null }
  | { kind: 'dump' }
  | { kind: 'file' | 'memfd'; name: string; size: U64; readOnly: boolean }
  | { kind: 'truncate'; name: string; size: U64 }
  | { kind: 'fork-begin' | 'fork-end' }
  | { kind: 'set-maps'; on: boolean };

export interface ScriptLine {
  /** 1-based line number in the file */
  readonly line: number;
  /** the tokens joined by single spaces (the `op` field of the output) */
  readonly text: string;
  readonly op: Op;
}

const MAX_U64 = (1n << 64n) - 1n;

function num(tok: string | undefined, line: number): U64 {
  if (tok === undefined) throw new OpsParseError(line, '(missing)', 'bad number');
  let v: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(tok)) v = BigInt('0x' + tok.slice(2));
  else if (/^[0-9]+$/.test(tok)) v = BigInt(tok);
  else throw new OpsParseError(line, tok, 'bad number');
  if (v > MAX_U64) throw new OpsParseError(line, tok, 'number out of range');
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function small(tok: string | undefined, line: number): number {
  const v = num(tok, line);
  if (typeof v === 'bigint') throw new OpsParseError(line, tok ?? '', 'number too large here');
  return v;
}

function isNum(tok: string): boolean {
  return /^0[xX][0-9a-fA-F]+$/.test(tok) || /^[0-9]+$/.test(tok);
}

function prot(tok: string, line: number): number {
  if (tok === 'none' || tok === '---') return 0;
  if (isNum(tok)) return Number(BigInt.asUintN(32, BigInt(num(tok, line))));
  if (tok.length !== 3) throw new OpsParseError(line, tok, 'bad prot');
  const bits: Array<[string, number]> = [
    ['r', M.PROT_READ],
    ['w', M.PROT_WRITE],
    ['x', M.PROT_EXEC],
  ];
  let p = 0;
  bits.forEach(([c, b], i) => {
    if (tok[i] === c) p |= b;
    else if (tok[i] !== '-') throw new OpsParseError(line, tok, 'bad prot');
  });
  return p;
}

const MMAP_FLAGS: Record<string, number> = {
  private: M.MAP_PRIVATE,
  shared: M.MAP_SHARED,
  shared_validate: M.MAP_SHARED_VALIDATE,
  anonymous: M.MAP_ANONYMOUS,
  anon: M.MAP_ANONYMOUS,
  fixed: M.MAP_FIXED,
  fixed_noreplace: M.MAP_FIXED_NOREPLACE,
  noreserve: M.MAP_NORESERVE,
  populate: M.MAP_POPULATE,
  growsdown: M.MAP_GROWSDOWN,
  stack: M.MAP_STACK,
  locked: M.MAP_LOCKED,
  nonblock: M.MAP_NONBLOCK,
  droppable: M.MAP_DROPPABLE,
  uninitialized: M.MAP_UNINITIALIZED,
};

const MREMAP_FLAGS: Record<string, number> = {
  maymove: M.MREMAP_MAYMOVE,
  fixed: M.MREMAP_FIXED,
  dontunmap: M.MREMAP_DONTUNMAP,
};

const ADVICE: Record<string, number> = {
  NORMAL: M.MADV_NORMAL,
  RANDOM: M.MADV_RANDOM,
  SEQUENTIAL: M.MADV_SEQUENTIAL,
  WILLNEED: M.MADV_WILLNEED,
  DONTNEED: M.MADV_DONTNEED,
  FREE: M.MADV_FREE,
  REMOVE: M.MADV_REMOVE,
  DONTFORK: M.MADV_DONTFORK,
  DOFORK: M.MADV_DOFORK,
  MERGEABLE: M.MADV_MERGEABLE,
  UNMERGEABLE: M.MADV_UNMERGEABLE,
  HUGEPAGE: M.MADV_HUGEPAGE,
  NOHUGEPAGE: M.MADV_NOHUGEPAGE,
  DONTDUMP: M.MADV_DONTDUMP,
  DODUMP: M.MADV_DODUMP,
  WIPEONFORK: M.MADV_WIPEONFORK,
  KEEPONFORK: M.MADV_KEEPONFORK,
  COLD: M.MADV_COLD,
  PAGEOUT: M.MADV_PAGEOUT,
  POPULATE_READ: M.MADV_POPULATE_READ,
  POPULATE_WRITE: M.MADV_POPULATE_WRITE,
  GUARD_INSTALL: M.MADV_GUARD_INSTALL,
  GUARD_REMOVE: M.MADV_GUARD_REMOVE,
};

/** Names or numbers joined by `|`, OR-ed together (vmtrace parse_flags). */
function flagBits(tok: string, table: Record<string, number>, line: number): bigint {
  let v = 0n;
  for (const f of tok.split('|').filter((x) => x.length > 0)) {
    if (isNum(f)) v |= BigInt(num(f, line));
    else if (Object.prototype.hasOwnProperty.call(table, f)) v |= BigInt(table[f]);
    else throw new OpsParseError(line, f, 'unknown flag');
  }
  return v;
}

/** mmap flags and madvise advice go through a C int in vmtrace: the low 32 bits. */
function flags(tok: string, table: Record<string, number>, line: number): number {
  return Number(BigInt.asUintN(32, flagBits(tok, table, line)));
}

/** mremap flags are passed as an unsigned long (saturated: any bit above 52 is just "unknown"). */
function longFlags(tok: string, table: Record<string, number>, line: number): number {
  const v = flagBits(tok, table, line);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

function need(tokens: string[], counts: number[], line: number, usage: string): void {
  if (!counts.includes(tokens.length))
    throw new OpsParseError(line, tokens.join(' '), `usage: ${usage}; got`);
}

function parseLine(tok: string[], line: number): Op | null {
  const op = tok[0];
  switch (op) {
    case 'set':
      if (tok.length === 3 && tok[1] === 'maps') return { kind: 'set-maps', on: tok[2] === 'on' };
      throw new OpsParseError(line, tok.join(' '), 'bad set');
    case 'mmap': {
      need(tok, [5, 7], line, 'mmap ADDR LEN PROT FLAGS [FILE OFFSET]');
      const addr = num(tok[1], line);
      const len = num(tok[2], line);
      const p = prot(tok[3], line);
      const f = flags(tok[4], MMAP_FLAGS, line);
      const file = tok.length === 7 && tok[5] !== '-' ? tok[5] : null;
      const offset = tok.length === 7 ? num(tok[6], line) : 0;
      return { kind: 'mmap', addr, len, prot: p, flags: f, file, offset };
    }
    case 'munmap':
      return { kind: 'munmap', addr: num(tok[1], line), len: num(tok[2], line) };
    case 'mprotect':
      need(tok, [4], line, 'mprotect ADDR LEN PROT');
      return { kind: 'mprotect', addr: num(tok[1], line), len: num(tok[2], line), prot: prot(tok[3], line) };
    case 'mremap': {
      need(tok, [5, 6], line, 'mremap OLD OLDLEN NEWLEN FLAGS [NEWADDR]');
      return {
        kind: 'mremap',
        addr: num(tok[1], line),
        oldLen: num(tok[2], line),
        newLen: num(tok[3], line),
        flags: longFlags(tok[4], MREMAP_FLAGS, line),
        newAddr: tok.length === 6 ? num(tok[5], line) : 0,
        hasNewAddr: tok.length === 6,
      };
    }
    case 'madvise':
      need(tok, [4], line, 'madvise ADDR LEN ADVICE');
      return {
        kind: 'madvise',
        addr: num(tok[1], line),
        len: num(tok[2], line),
        advice: flags(tok[3], ADVICE, line),
      };
    case 'mlock':
    case 'munlock':
    case 'mseal':
      need(tok, [3], line, `${op} ADDR LEN`);
      return { kind: op, addr: num(tok[1], line), len: num(tok[2], line) };
    case 'touch':
    case 'fork-touch': {
      need(tok, [4, 5], line, `${op} ADDR LEN r|w [VALUE]`);
      const addr = num(tok[1], line);
      const len = num(tok[2], line);
      if (tok[3] !== 'r' && tok[3] !== 'w')
        throw new OpsParseError(line, tok[3], 'touch mode must be r or w, got');
      const value = tok.length === 5 ? small(tok[4], line) : 1;
      return { kind: op, addr, len, write: tok[3] === 'w', value };
    }
    case 'probe':
      if (tok.length === 3) return { kind: 'probe', addr: num(tok[1], line), len: num(tok[2], line) };
      need(tok, [1], line, 'probe [ADDR LEN]');
      return { kind: 'probe', addr: null, len: null };
    case 'dump':
      return { kind: 'dump' };
    case 'file':
    case 'memfd':
      if (!(tok.length === 3 || (tok.length === 4 && tok[3] === 'ro'))) {
        throw new OpsParseError(line, tok.join(' '), `usage: ${op} NAME SIZE [ro]; got`);
      }
      return { kind: op, name: tok[1], size: num(tok[2], line), readOnly: tok.length === 4 };
    case 'truncate':
      need(tok, [3], line, 'truncate NAME SIZE');
      return { kind: 'truncate', name: tok[1], size: num(tok[2], line) };
    case 'fork-begin':
    case 'fork-end':
      if (tok.length !== 1) throw new OpsParseError(line, tok.join(' '), `${op} takes no arguments; got`);
      return { kind: op };
    default:
      throw new OpsParseError(line, op, 'unknown op');
  }
}

/** Parses a whole script; blank and comment-only lines are dropped. */
export function parseOps(text: string): ScriptLine[] {
  const out: ScriptLine[] = [];
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  let openAt = -1;
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    const hash = raw.indexOf('#');
    const body = hash >= 0 ? raw.slice(0, hash) : raw;
    const tok = body.split(/[ \t\r\n]+/).filter((t) => t.length > 0);
    if (tok.length === 0) return;
    const op = parseLine(tok, line);
    if (!op) return;
    if (op.kind === 'fork-begin') {
      if (openAt >= 0) throw new OpsParseError(line, 'fork-begin', 'fork-begin inside a fork-begin block:');
      openAt = line;
    } else if (op.kind === 'fork-end') {
      if (openAt < 0) throw new OpsParseError(line, 'fork-end', 'fork-end without fork-begin:');
      openAt = -1;
    }
    out.push({ line, text: tok.join(' '), op });
  });
  if (openAt >= 0) throw new OpsParseError(openAt, 'fork-begin', 'fork-begin without fork-end:');
  return out;
}
