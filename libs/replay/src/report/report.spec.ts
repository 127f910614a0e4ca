import { builtinWorkload } from '../builtin';
import { runWorkload } from '../engine/engine';
import { FakeMachine } from '../testing/fake-stack';
import { markdownToHtml } from './html';
import { renderMarkdown, table } from './markdown';
import type { RunReport } from './model';
import { renderReport } from './render';
import { memoryMapSvg } from './svg-memory-map';
import { vmaLayoutSvg } from './svg-vmas';

/** Well-formed enough for a browser: one root, every tag closed in order, attributes quoted, entities known. */
function checkWellFormed(svg: string): void {
  const stack: string[] = [];
  const body = svg.replace(/<title>[^<]*<\/title>/g, '');
  for (const m of body.matchAll(
    /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(amp|lt|gt|quot|apos);)/g,
  )) {
    if (m[2] === undefined)
      throw new Error(`stray ${m[0]} at ${m.index}: ${body.slice(m.index ?? 0, (m.index ?? 0) + 40)}`);
    if (m[1]) {
      const open = stack.pop();
      if (open !== m[2]) throw new Error(`</${m[2]}> closes <${open}>`);
    } else if (!m[4]) stack.push(m[2]);
  }
  expect(stack).toEqual([]);
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
}

let report: RunReport;
beforeAll(async () => {
  const w = builtinWorkload('fork-cow');
  if (!w) throw new Error('fork-cow');
  report = await runWorkload(w, new FakeMachine().stack(), { now: () => 0, sampleEvery: 2 });
});

describe('report', () => {
  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('renders every picture as well-formed SVG', () => {
    const { files, markdown } = renderReport(report);
    expect(Object.keys(files).sort()).toEqual([
      'buddy-series.svg',
      'memory-map-peak.svg',
      'memory-map.svg',
      'vmas-child.svg',
      'vmas-child2.svg',
      'vmas-child3.svg',
      'vmas-parent.svg',
    ]);
    for (const svg of Object.values(files)) checkWellFormed(svg);
    for (const name of Object.keys(files)) expect(markdown).toContain(`](${name})`);
  });

  it('escapes text in SVG', () => {
    const svg = vmaLayoutSvg('a<b>&"c"', [
      { start: '0x7e0000000000', end: '0x7e0000001000', perms: 'rw-p', name: '/tmp/x&y <z>' },
    ]);
    checkWellFormed(svg);
    expect(svg).toContain('a&lt;b&gt;&amp;&quot;c&quot;');
    expect(svg).toContain('/tmp/x&amp;y &lt;z&gt;');
  });

  it('groups PFNs of a big machine and lets a page-table frame show in its group', () => {
    const svg = memoryMapSvg(
      {
        totalPfns: 1 << 20,
        zones: [
          { name: 'DMA', startPfn: 0, endPfn: 4096 },
          { name: 'DMA32', startPfn: 4096, endPfn: 1 << 20 },
        ],
        runs: [
          { startPfn: 0, count: 1000, state: 'reserved' },
          { startPfn: 1000, count: 1, state: 'page-table' },
          { startPfn: 1001, count: (1 << 20) - 1001, state: 'free' },
        ],
      },
      { maxCells: 1024 },
    );
    checkWellFormed(svg);
    expect(svg).toContain('one cell per 1024 PFNs');
    expect(svg.match(/fill="#fb8c00"/g)?.length).toBe(2); // the cell and the legend
  });

  it('writes Markdown tables with a header, a rule and rows of the same width', () => {
    const md = renderMarkdown(report);
    const tables = md.split('\n\n').filter((b) => b.startsWith('|'));
    expect(tables.length).toBeGreaterThan(5);
    for (const t of tables) {
      const rows = t.split('\n');
      const width = (r: string) => r.replace(/\\\|/g, '').split('|').length;
      expect(rows[1]).toMatch(/^\| ---( \| ---)* \|$/);
      for (const r of rows) expect(width(r)).toBe(width(rows[0]));
    }
    expect(md).toContain('# fork-cow: every expectation held');
    expect(md).toMatch(/\| parent \| \d+ \| {2}\| exited 0 \|/);
    expect(md).toContain('| orchestrator→vma-manager | handleFaults |');
  });

  it('escapes pipes in table cells', () => {
    expect(table(['a'], [['x|y']])).toBe('| a |\n| --- |\n| x\\|y |');
  });

  it('says which expectation failed', () => {
    const failed: RunReport = {
      ...report,
      ok: false,
      failures: [
        { at: 'w.yaml:3:9', what: 'p: mmap fails with EIO', ok: false, detail: 'returned 0x7e0000000000' },
      ],
    };
    expect(renderMarkdown(failed)).toContain(
      '# fork-cow: 1 expectation(s) failed\n\n' +
        (report.workload.description ? `${report.workload.description}\n\n` : ''),
    );
    expect(renderMarkdown(failed)).toContain(
      '| w.yaml:3:9 | p: mmap fails with EIO | returned 0x7e0000000000 |',
    );
  });

  it('gives the same sections as an HTML page with the pictures inline', () => {
    const { files, markdown } = renderReport(report);
    const html = markdownToHtml(markdown, files, 'fork-cow <report>');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<title>fork-cow &lt;report&gt;</title>');
    const headings = [...markdown.matchAll(/^(#{1,3}) (.*)$/gm)].map(
      (m) =>
        `<h${m[1].length}>${m[2].replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</h${m[1].length}>`,
    );
    expect(headings.length).toBeGreaterThan(3);
    for (const h of headings) expect(html).toContain(h);
    // every picture the Markdown links is in the page, none is linked as a file
    expect(html.match(/<svg xmlns=/g)?.length).toBe(Object.keys(files).length);
    expect(html).not.toMatch(/\]\(|src="[^"]*\.svg"/);
    const tables = markdown.split('\n').filter((l) => l.startsWith('| ---')).length;
    expect(html.match(/<table>/g)?.length).toBe(tables);
    expect(html).toContain('<td>orchestrator→vma-manager</td><td>handleFaults</td>');
  });

  it('keeps escaped pipes and HTML special characters as text in HTML cells', () => {
    const html = markdownToHtml(
      `${table(
        ['a', 'b'],
        [
          ['x|y', '<b>&'],
          ['1', '2'],
        ],
      )}\n`,
      {},
      't',
    );
    expect(html).toContain('<tr><td>x|y</td><td>&lt;b&gt;&amp;</td></tr>');
    expect(html).toContain('<thead><tr><th>a</th><th>b</th></tr></thead>');
  });
});
