import Ajv, { type ErrorObject } from 'ajv';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { buildWorkload, type Locate, type PathSegment } from './build-workload';
import { WorkloadError, type WorkloadProblem } from './errors';
import type { Workload } from './model';
import { parseAddr, parseHex, parseProt, parseSize } from './values';
import schema from './workload.schema.json';

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
const validate = ajv.compile(schema);

/** `processes[0].ops[3].mmap.length` */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

function pointerToPath(pointer: string): PathSegment[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

/** Positions of the nodes of a parsed YAML (or JSON) document. */
function yamlLocator(doc: Document, lines: LineCounter): Locate {
  return (path, key) => {
    let node: unknown = doc.contents;
    let offset = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
    const full = key === undefined ? path : [...path, key];
    for (let i = 0; i < full.length; i++) {
      const seg = full[i];
      const isKey = key !== undefined && i === full.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const target = (isKey ? pair.key : (pair.value ?? pair.key)) as YamlNode | null;
        if (target?.range) offset = target.range[0];
        node = isKey ? null : pair.value;
      } else if (node && typeof node === 'object' && 'items' in node && typeof seg === 'number') {
        const item = (node as { items: unknown[] }).items[seg] as YamlNode | undefined;
        if (!item) break;
        if (item.range) offset = item.range[0];
        node = item;
      } else break;
    }
    const pos = lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
}

/** The definition an ajv error's schema path is under (`size`, `addr`, ...). */
function definitionOf(error: ErrorObject): string | null {
  const m = /#\/definitions\/([A-Za-z]+)\/oneOf/.exec(error.schemaPath);
  return m ? m[1] : null;
}

function messageFor(error: ErrorObject, value: unknown): string {
  switch (error.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys((error.parentSchema as { properties?: object })?.properties ?? {});
      const name = String(error.params['additionalProperty']);
      return allowed.length
        ? `unknown field '${name}' (expected one of: ${allowed.join(', ')})`
        : `unknown field '${name}'`;
    }
    case 'required':
      return `missing required field '${String(error.params['missingProperty'])}'`;
    case 'enum':
      return `${JSON.stringify(value)} is not one of: ${(error.params['allowedValues'] as unknown[]).join(', ')}`;
    case 'maxProperties':
      if (Number(error.params['limit']) === 1)
        return `an operation is a map with exactly one key (its name), got: ${Object.keys(value as object).join(', ')}`;
      break;
    case 'minProperties':
      return Number(error.params['limit']) === 1 ? 'must not be empty' : `${error.message}`;
    case 'oneOf': {
      const def = definitionOf(error);
      const parsed =
        def === 'size'
          ? parseSize(value)
          : def === 'addr'
            ? parseAddr(value)
            : def === 'prot'
              ? parseProt(value)
              : null;
      if (parsed && !parsed.ok) return parsed.message;
      const description = (error.parentSchema as { description?: string })?.description;
      return description
        ? `${JSON.stringify(value)} is not valid: ${description}`
        : `${JSON.stringify(value)} is not valid`;
    }
    case 'pattern':
      if (/hex/.test(error.schemaPath)) {
        const hex = parseHex(value);
        if (!hex.ok) return hex.message;
      }
      return `${JSON.stringify(value)} does not match ${String(error.params['pattern'])}`;
    case 'type':
      return `must be ${String(error.params['type'])}, got ${JSON.stringify(value)}`;
  }
  return `${error.message ?? 'is not valid'}${value !== undefined && typeof value !== 'object' ? ` (got ${JSON.stringify(value)})` : ''}`;
}

/**
 * ajv reports every branch of a failed oneOf; keep, for each place, the error a person needs:
 * the oneOf itself (we explain it with our own parser) instead of its branches, and the deepest
 * places first (an error inside an op says more than "the op is wrong").
 */
function pickErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  const kept = errors.filter((e) => {
    if (e.keyword === 'oneOf') return true;
    // a branch of a oneOf at the same place: the oneOf message covers it
    return !oneOfPaths.has(e.instancePath) || !/\/oneOf\/\d+\//.test(e.schemaPath);
  });
  const depth = (e: ErrorObject) => e.instancePath.split('/').length;
  const maxDepth = Math.max(...kept.map(depth));
  const seen = new Set<string>();
  const out: ErrorObject[] = [];
  for (const e of [...kept].sort((a, b) => depth(b) - depth(a))) {
    if (depth(e) < maxDepth && out.some((o) => o.instancePath.startsWith(e.instancePath))) continue;
    const k = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(e);
  }
  return out;
}

/**
 * Parse a workload written in YAML or JSON, check it against workload.schema.json and against
 * what the schema cannot say (sizes, variables, children), and build the model. Throws a
 * {@link WorkloadError} whose lines read `file:line:column: field path: message`.
 */
export function loadWorkloadText(text: string, file: string): Workload {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new WorkloadError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, path: '', message: e.message.split('\n')[0] };
      }),
    );
  }
  const data: unknown = doc.toJS();
  return validateAndBuild(data, file, yamlLocator(doc, lines));
}

/**
 * A workload given as data (a built-in, or JSON already parsed): the same checks, with problems
 * located by field path only.
 */
export function loadWorkloadData(data: unknown, source: string): Workload {
  return validateAndBuild(data, source, () => ({ line: 0, column: 0 }));
}

function validateAndBuild(data: unknown, file: string, locate: Locate): Workload {
  if (!validate(data)) {
    const problems: WorkloadProblem[] = pickErrors(validate.errors ?? []).map((e) => {
      const path = pointerToPath(e.instancePath);
      const extra = e.keyword === 'additionalProperties' ? String(e.params['additionalProperty']) : undefined;
      const pos = locate(path, extra);
      return {
        file,
        line: pos.line,
        column: pos.column,
        path: formatPath(extra === undefined ? path : [...path, extra]),
        message: messageFor(e, e.data),
      };
    });
    throw new WorkloadError(problems);
  }
  return buildWorkload(data as Record<string, unknown>, file, locate);
}
