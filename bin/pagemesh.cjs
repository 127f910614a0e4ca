#!/usr/bin/env node
// The pagemesh command. Runs the bundled CLI, building it first when this checkout has no build.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
const main = join(root, 'dist/cli/main.cjs');
if (!existsSync(main)) {
  const built = spawnSync(process.execPath, [join(root, 'tools/build.mjs'), '--quiet'], { stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
require(main);
