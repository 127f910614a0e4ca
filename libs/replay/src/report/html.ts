import { escapeXml } from './svg';

/** The CSS of the page: readable tables and code, pictures at their own size. */
const STYLE = `
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1b1b1b; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #c8c8c8; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
figure { margin: 1em 0; }
figcaption { font-size: 0.9em; color: #555; }
`.trim();

/** A Markdown table row's cells: split on `|` not escaped as `\|` (markdown.ts's `table`). */
function cells(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

const IMAGE = /^!\[([^\]]*)\]\(([^)]+)\)$/;

/**
 * The Markdown of a report as one HTML page: the same sections, tables and text, with every
 * picture the Markdown links inlined as SVG from `pictures` (file name → SVG text), so the page
 * stands alone. Converts the subset the report renderer writes: headings, paragraphs, tables,
 * fenced code, images, and its raw `<details>`/`<summary>` lines.
 */
export function markdownToHtml(
  markdown: string,
  pictures: Readonly<Record<string, string>>,
  title: string,
): string {
  const out: string[] = [];
  const lines = markdown.split('\n');
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length > 0) out.push(`<p>${escapeXml(paragraph.join(' '))}</p>`);
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heading = /^(#{1,6}) (.*)$/.exec(line);
    const image = IMAGE.exec(line.trim());
    if (line.trim() === '') {
      flush();
    } else if (heading) {
      flush();
      const level = heading[1].length;
      out.push(`<h${level}>${escapeXml(heading[2])}</h${level}>`);
    } else if (line.startsWith('```')) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) code.push(lines[i]);
      out.push(`<pre><code>${escapeXml(code.join('\n'))}</code></pre>`);
    } else if (line.startsWith('|')) {
      flush();
      const rows: string[] = [];
      for (; i < lines.length && lines[i].startsWith('|'); i++) rows.push(lines[i]);
      i--;
      const [header, , ...body] = rows;
      out.push(
        '<table>',
        `<thead><tr>${cells(header)
          .map((c) => `<th>${escapeXml(c)}</th>`)
          .join('')}</tr></thead>`,
        '<tbody>',
        ...body.map(
          (r) =>
            `<tr>${cells(r)
              .map((c) => `<td>${escapeXml(c)}</td>`)
              .join('')}</tr>`,
        ),
        '</tbody>',
        '</table>',
      );
    } else if (image) {
      flush();
      const [, alt, file] = image;
      const svg = pictures[file];
      out.push(
        '<figure>',
        svg ? svg.trim() : `<p>(picture ${escapeXml(file)} missing)</p>`,
        `<figcaption>${escapeXml(alt)}</figcaption>`,
        '</figure>',
      );
    } else if (/^<\/?(details|summary)[\s>]/.test(line)) {
      // the renderer's own raw HTML (a folded syscall log)
      flush();
      out.push(line);
    } else {
      paragraph.push(line);
    }
  }
  flush();
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeXml(title)}</title>`,
    `<style>\n${STYLE}\n</style>`,
    '</head>',
    '<body>',
    ...out,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
