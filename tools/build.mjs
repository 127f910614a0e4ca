// Bundles every app and the CLI with esbuild into dist/: workspace libraries are compiled in
// from source, npm packages stay external (so grpc-js is the one in node_modules), and the
// .proto files are copied next to the bundles for server reflection.
import { build } from 'esbuild';
import { cpSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const npmPackages = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];

const entries = {
  'cli/main': join(root, 'libs/cli/src/main.ts'),
  // The bare grpc-js echo server `pagemesh bench` measures the mmu stream against.
  'bench/echo-server': join(root, 'libs/cli/src/bench/echo-server-main.ts'),
};
for (const app of readdirSync(join(root, 'apps'))) {
  entries[`apps/${app}/main`] = join(root, 'apps', app, 'src/main.ts');
}

const started = Date.now();
rmSync(join(root, 'dist'), { recursive: true, force: true });
await build({
  entryPoints: entries,
  outdir: join(root, 'dist'),
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  conditions: ['@pagemesh/source'],
  external: npmPackages.flatMap((p) => [p, `${p}/*`]),
  logLevel: 'warning',
});
cpSync(join(root, 'protos'), join(root, 'dist/protos'), { recursive: true });
if (!process.argv.includes('--quiet')) {
  console.error(`built ${Object.keys(entries).length} bundles into dist/ in ${Date.now() - started} ms`);
}
