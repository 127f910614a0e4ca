import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../program';
import { builtinWorkload } from '@pagemesh/replay';
import { machineServiceArgs } from '@pagemesh/orchestrator-rpc';
import { startLocalStack } from '../stack/local-stack';
import { captureIo } from '../testing/capture-io';
import { distDir } from './common';
import { parseReplayAddresses } from './replay';

const dir = mkdtempSync(join(tmpdir(), 'pagemesh-replay-test-'));

function workloadFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const SMALL = (expectErrno: string) => `name: small
description: one mapping, touched, then a munmap with a bad length
machine: { arch: x86_64, memory: 32M, cpus: 1 }
processes:
  - name: p
    ops:
      - mmap: { addr: '0x7e0000000000', length: 4p, prot: rw-, flags: private|anonymous|fixed_noreplace, save: buf }
      - touch: { addr: $buf, length: 4p, kind: write, value: 1, expect: { faults: 4 } }
      - munmap: { addr: '$buf+1', length: 4K, expect: { errno: ${expectErrno} } }
`;

describe('pagemesh replay (in-process)', () => {
  jest.setTimeout(30_000);

  it('lists the built-in workloads', async () => {
    const io = captureIo();
    expect(await runCli(['replay', '--list', '--json'], io)).toBe(0);
    expect(JSON.parse(io.lines[0]).map((w: { name: string }) => w.name)).toContain('demand-paging');
  });

  it('replays a built-in workload, reports as JSON, and writes the Markdown and pictures', async () => {
    const io = captureIo();
    const report = join(dir, 'out', 'report.md');
    expect(
      await runCli(['replay', 'demand-paging', '--transport', 'inproc', '--json', '--report', report], io),
    ).toBe(0);
    const json = JSON.parse(io.lines[0]);
    expect(json.ok).toBe(true);
    expect(json.transport).toBe('inproc');
    expect(readFileSync(report, 'utf8')).toMatch(/^# demand-paging/);
    expect(existsSync(join(dir, 'out', 'memory-map.svg'))).toBe(true);
  });

  it('writes one HTML page with the same sections and the pictures inline for --report FILE.html', async () => {
    const io = captureIo();
    const out = join(dir, 'html');
    const page = join(out, 'report.html');
    expect(
      await runCli(
        ['replay', 'demand-paging', 'fork-cow', '--transport', 'inproc', '--json', '--report', page],
        io,
      ),
    ).toBe(0);
    const html = readFileSync(page, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<h1>demand-paging: every expectation held</h1>');
    expect(html).toContain('<h1>fork-cow: every expectation held</h1>');
    expect(html).toContain('<h2>Boundaries</h2>');
    expect(html.match(/<svg xmlns=/g)?.length).toBeGreaterThan(6);
    expect(existsSync(join(out, 'fork-cow'))).toBe(false);
  });

  it('exits 1 and says which expectation failed', async () => {
    const io = captureIo();
    expect(
      await runCli(['replay', workloadFile('fails.yaml', SMALL('ENOMEM')), '--transport', 'inproc'], io),
    ).toBe(1);
    expect(io.lines.join('\n')).toMatch(/small: 1 expectation\(s\) failed/);
    expect(io.lines.join('\n')).toMatch(
      / {2}- \S*fails\.yaml:9:\d+: p: munmap fails with ENOMEM: failed with EINVAL/,
    );
    const passes = captureIo();
    expect(
      await runCli(['replay', workloadFile('passes.yaml', SMALL('EINVAL')), '--transport', 'inproc'], passes),
    ).toBe(0);
  });

  it('names the line and field of a malformed workload', async () => {
    const io = captureIo();
    const path = workloadFile('bad.yaml', SMALL('EINVAL').replace('length: 4p, prot', 'length: 4Q, prot'));
    expect(await runCli(['replay', path], io)).toBe(1);
    expect(io.errors.join('\n')).toMatch(/bad\.yaml:7:\d+: processes\[0\]\.ops\[0\]\.mmap\.length/);
  });

  it('refuses an unknown built-in by name', async () => {
    const io = captureIo();
    expect(await runCli(['replay', 'nope'], io)).toBe(1);
    expect(io.errors[0]).toMatch(/no built-in workload "nope"/);
  });
});

describe('pagemesh replay (the default transport)', () => {
  jest.setTimeout(120_000);

  /** Needs the bundles of dist/ (node tools/build.mjs; npm test builds first). */
  it('replays on the five services started as local processes', async () => {
    const io = captureIo();
    expect(await runCli(['replay', 'fork-cow', '--json'], io)).toBe(0);
    const report = JSON.parse(io.lines[0]) as { ok: boolean; transport: string };
    expect(report).toEqual(expect.objectContaining({ ok: true, transport: 'grpc' }));
  });
});

describe('pagemesh replay --addresses (services already running)', () => {
  jest.setTimeout(120_000);

  it('needs all four services named', () => {
    expect(() => parseReplayAddresses('page-allocator=127.0.0.1:1,mmu=127.0.0.1:2')).toThrow(
      /does not say where device-drivers, vma-manager listen/,
    );
    expect(() => parseReplayAddresses('mmu=nowhere')).toThrow(/not host:port/);
  });

  /** Needs the bundles of dist/ (node tools/build.mjs; npm test builds first). */
  it('replays on them when they are fresh and booted for the machine, and refuses otherwise', async () => {
    const machine = builtinWorkload('fork-cow')?.machine;
    if (!machine) throw new Error('fork-cow');
    await using stack = await startLocalStack({
      distDir: distDir(),
      logDir: join(dir, 'stack-logs'),
      basePort: 0,
      only: ['page-allocator', 'mmu', 'device-drivers', 'vma-manager'],
      serviceArgs: machineServiceArgs(machine),
    });
    const addresses = ['page-allocator', 'mmu', 'device-drivers', 'vma-manager']
      .map((s) => `${s}=${stack.addresses[s as keyof typeof stack.addresses]}`)
      .join(',');

    const first = captureIo();
    expect(await runCli(['replay', 'fork-cow', '--addresses', addresses, '--json'], first)).toBe(0);
    const report = JSON.parse(first.lines[0]) as { ok: boolean; transport: string };
    expect(report.ok).toBe(true);
    expect(report.transport).toBe(`remote ${addresses}`);

    const again = captureIo();
    expect(await runCli(['replay', 'fork-cow', '--addresses', addresses], again)).toBe(1);
    expect(again.errors.join('\n')).toMatch(/have run something since they booted .*restart them/);

    const other = captureIo();
    expect(await runCli(['replay', 'mixed', '--addresses', addresses], other)).toBe(1);
    expect(other.errors.join('\n')).toMatch(/64 MiB of memory where the workload needs 128 MiB/);

    const reused = captureIo();
    process.env['PAGEMESH_ADDRESSES'] = addresses;
    try {
      expect(await runCli(['replay', 'fork-cow', '--reuse-stack', '--json'], reused)).toBe(0);
    } finally {
      delete process.env['PAGEMESH_ADDRESSES'];
    }
    expect(JSON.parse(reused.lines[0]).transport).toMatch(/\(reused: not fresh\)$/);
  });
});
