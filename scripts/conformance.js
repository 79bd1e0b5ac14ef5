#!/usr/bin/env node
/**
 * The main job: runs the conformance suite against one driver and prints the result table.
 *
 *   npm run conformance                          # filesystem driver in a temporary directory
 *   npm run conformance -- --driver inmemory
 *   npm run conformance -- --profile full        # distribution's sizes (5 GiB large stream)
 *
 * Each driver's suite lives in build/test/conformance/<driver>.test.js and reads its size profile
 * from STOWAGE_CONFORMANCE_PROFILE.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const suites = path.join(root, 'build', 'test', 'conformance');

function parseArgs(argv) {
  const args = { driver: 'filesystem', profile: 'standard' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--driver') args.driver = value();
    else if (arg === '--profile') args.profile = value();
    else if (arg === '--help' || arg === '-h') args.help = true;
    else fail(`unknown argument ${arg}`);
  }
  return args;
}

function fail(message) {
  console.error(`conformance: ${message}`);
  process.exit(2);
}

const args = parseArgs(process.argv.slice(2));
const available = existsSync(suites)
  ? readdirSync(suites)
      .filter((f) => f.endsWith('.test.js'))
      .map((f) => f.slice(0, -'.test.js'.length))
  : [];
if (args.help) {
  console.log(`usage: npm run conformance -- [--driver ${available.join('|') || 'NAME'}] [--profile quick|standard|full]`);
  process.exit(0);
}
if (!available.includes(args.driver)) fail(`no conformance suite for driver "${args.driver}" (have: ${available.join(', ') || 'none; run npm run build'})`);
if (!['quick', 'standard', 'full'].includes(args.profile)) fail(`unknown profile "${args.profile}" (quick, standard or full)`);

console.log(`conformance: driver ${args.driver}, profile ${args.profile}`);
const result = spawnSync(
  process.execPath,
  [
    require.resolve('mocha/bin/mocha.js'),
    '--no-config',
    '--reporter',
    '@stowage/conformance/reporter',
    '--timeout',
    '600000',
    '--slow',
    '2000',
    path.join(suites, `${args.driver}.test.js`),
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, STOWAGE_CONFORMANCE_PROFILE: args.profile } },
);
process.exit(result.status ?? 1);
