#!/usr/bin/env node
// Every publishable package's `prepack` (npm pack / npm publish, run in the package's folder):
// builds the package and the packages it references, so a tarball never ships without dist/, and
// copies the repository's LICENSE in, so that every tarball carries the licence its package.json names.
'use strict';
const { execFileSync } = require('node:child_process');
const { copyFileSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-b'], { stdio: 'inherit' });
copyFileSync(path.join(root, 'LICENSE'), 'LICENSE');
