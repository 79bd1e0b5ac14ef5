#!/usr/bin/env node
// The package's bin, a plain file so that npm can link it before the first build: it runs the
// compiled CLI (`npm run build` first).
require('../dist/cli.js');
