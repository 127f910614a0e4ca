/** Dependency-free SVG building: escaped text and attributes, nothing else. */

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

type Attrs = Readonly<Record<string, string | number>>;

function attrs(a: Attrs): string {
  return Object.entries(a)
    .map(([k, v]) => ` ${k}="${escapeXml(typeof v === 'number' ? fmt(v) : v)}"`)
    .join('');
}

/** Numbers with at most two decimals, so the output is stable and small. */
function fmt(n: number): string {
  return String(Math.round(n * 100) / 100);
}

export function el(name: string, a: Attrs, children: readonly string[] = []): string {
  return children.length === 0
    ? `<${name}${attrs(a)}/>`
    : `<${name}${attrs(a)}>${children.join('')}</${name}>`;
}

export function text(x: number, y: number, content: string, a: Attrs = {}): string {
  return `<text${attrs({ x, y, ...a })}>${escapeXml(content)}</text>`;
}

export function svgDocument(width: number, height: number, title: string, body: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fmt(width)}" height="${fmt(height)}" viewBox="0 0 ${fmt(width)} ${fmt(height)}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    el('rect', { x: 0, y: 0, width, height, fill: '#ffffff' }),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
