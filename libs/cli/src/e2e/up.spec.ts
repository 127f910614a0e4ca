import { spawn, spawnSync, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { checkHealth } from '@pagemesh/service-kit';

/**
 * `pagemesh up` end to end, through the real command (bin/pagemesh.cjs → dist/cli/main.cjs):
 * five processes come up on ephemeral loopback ports, answer health, and all go away on Ctrl-C.
 */
const root = join(__dirname, '../../../..');
const bin = join(root, 'bin/pagemesh.cjs');

interface UpReport {
  services: {
    name: string;
    grpcService: string;
    address: string;
    metricsUrl: string;
    pid: number;
    status: string;
  }[];
}

function firstLine(child: ChildProcessByStdio<null, Readable, null>): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (line) => {
      rl.close();
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`pagemesh up exited (${code}) before printing the stack`)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('pagemesh up', () => {
  jest.setTimeout(60_000);
  let up: ChildProcess | undefined;

  afterEach(() => {
    if (up && up.exitCode === null) up.kill('SIGKILL');
  });

  it('starts five healthy services and stops them all on SIGINT', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'pagemesh-up-test-'));
    const child = spawn(process.execPath, [bin, 'up', '--base-port', '0', '--json', '--log-dir', logDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    up = child;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const report = JSON.parse(await firstLine(child)) as UpReport;

    expect(report.services.map((s) => s.name)).toEqual([
      'page-allocator',
      'mmu',
      'device-drivers',
      'vma-manager',
      'orchestrator',
    ]);
    for (const s of report.services) {
      expect(s.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await checkHealth(s.address, s.grpcService)).toBe('SERVING');
      expect(s.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    }
    // The health checks above were calls: the page allocator's metrics count them.
    const metrics = await (await fetch(report.services[0].metricsUrl)).text();
    expect(metrics).toMatch(/^grpc_server_handled_total\{/m);

    const addresses = report.services.map((s) => `${s.name}=${s.address}`).join(',');
    const status = spawnSync(process.execPath, [bin, 'status', '--addresses', addresses, '--json'], {
      encoding: 'utf8',
    });
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout).services.every((s: { status: string }) => s.status === 'SERVING')).toBe(
      true,
    );

    const buddyinfo = spawnSync(
      process.execPath,
      [bin, 'proc', '/proc/buddyinfo', '--addresses', addresses],
      {
        encoding: 'utf8',
      },
    );
    expect(buddyinfo.status).toBe(0);
    expect(buddyinfo.stdout).toMatch(/^Node 0, zone {6}DMA( +\d+){11} $/m);
    const vmallocinfo = spawnSync(
      process.execPath,
      [bin, 'proc', 'vmallocinfo', '--addresses', addresses, '--json'],
      {
        encoding: 'utf8',
      },
    );
    expect(JSON.parse(vmallocinfo.stdout).file).toBe('/proc/vmallocinfo');

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const s of report.services) {
      expect(alive(s.pid)).toBe(false);
      expect(await checkHealth(s.address, '', 500)).toBe('UNREACHABLE');
    }

    const after = spawnSync(
      process.execPath,
      [bin, 'status', '--addresses', addresses, '--timeout-ms', '500'],
      {
        encoding: 'utf8',
      },
    );
    expect(after.status).toBe(1);
    expect(after.stdout).toContain('UNREACHABLE');
  });

  it('fails with one clear line when a port is taken', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'pagemesh-up-test-'));
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = spawnSync(
        process.execPath,
        [bin, 'up', '--base-port', String(port), '--log-dir', logDir],
        {
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      expect(result.status).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines[lines.length - 1]).toMatch(
        /^pagemesh: page-allocator did not start: .*address already in use/,
      );
    } finally {
      blocker.close();
    }
  });

  it('start: the main job brings the stack up, replays lab-mmap and mixed, and writes the report', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagemesh-start-test-'));
    const result = spawnSync(process.execPath, [bin, 'start', '--json', '--report', join(dir, 'report.md')], {
      encoding: 'utf8',
      // mixed over gRPC takes about a minute on two cores
      timeout: 240_000,
    });
    expect(result.status).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.services.map((s: { status: string }) => s.status)).toEqual(Array(5).fill('SERVING'));
    expect(
      out.replays.map((r: { workload: { name: string }; ok: boolean }) => [r.workload.name, r.ok]),
    ).toEqual([
      ['lab-mmap', true],
      ['mixed', true],
    ]);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/^# lab-mmap/);
  }, 250_000);
});
