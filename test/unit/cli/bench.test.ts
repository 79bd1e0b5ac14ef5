import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { BASELINE_COLOUR, DRIVER_COLOUR } from '@stowage/cli';
import { ensureDebianPackage } from '../../services/docker-registry/apt';
import { requireService } from '../../services/require-service';
import { filesystemBackend, type CliBackend } from './backends';
import { describeRun, runStowage, tempDir, type StowageRun } from './run-stowage';

const CHROMIUM = '/usr/bin/chromium';
const WINDOW = { width: 1100, height: 1400 };

/** Headless Debian chromium renders `htmlFile` into `pngFile`, offline and with a throwaway profile. */
async function screenshot(htmlFile: string, pngFile: string): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), 'stowage-chromium-'));
  try {
    return await new Promise<string>((resolve, reject) => {
      const child = spawn(
        CHROMIUM,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          `--user-data-dir=${profile}`,
          `--window-size=${WINDOW.width},${WINDOW.height}`,
          `--screenshot=${pngFile}`,
          `file://${htmlFile}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
      child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`chromium exited ${code}:\n${output.slice(-3000)}`))));
    });
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** How many pixels have exactly this `#rrggbb` colour (chart bars are flat fills). */
function countColour(png: PNG, hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let count = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (png.data[i] === r && png.data[i + 1] === g && png.data[i + 2] === b) count++;
  }
  return count;
}

describe('stowage bench', function () {
  let backend: CliBackend;
  let out: { path: string; remove: () => Promise<void> };
  let run: StowageRun;
  const htmlFile = () => join(out.path, 'bench.html');

  before(async () => {
    backend = await filesystemBackend();
    out = await tempDir('bench');
    // A short run: a few small benchmarks, one round each, no memory check.
    run = await runStowage([
      'bench',
      ...backend.args,
      '--quick',
      '--rounds',
      '1',
      '--only',
      'PutGet1KiB,Stream1KiB,List5',
      '--memory-size',
      '0',
      '--json',
      join(out.path, 'bench.json'),
      '--html',
      htmlFile(),
    ]);
  });

  after(async () => {
    await backend?.cleanUp();
    await out?.remove();
  });

  it('prints the benchmark table and writes the same result as JSON', async () => {
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^Stowage benchmarks: driver filesystem vs baseline node:fs/m);
    for (const name of ['PutGet1KiB', 'Stream1KiB', 'List5']) assert.match(run.stdout, new RegExp(`^${name}\\s+\\d+\\s+1\\s`, 'm'));
    const json = JSON.parse(await readFile(join(out.path, 'bench.json'), 'utf8')) as { driver: string; benchmarks: Array<{ name: string; ratio: number }> };
    assert.equal(json.driver, 'filesystem');
    assert.deepEqual(
      json.benchmarks.map((b) => b.name),
      ['PutGet1KiB', 'Stream1KiB', 'List5'],
    );
    for (const b of json.benchmarks) assert.ok(Number.isFinite(b.ratio) && b.ratio > 0, `${b.name} ratio ${b.ratio}`);
  });

  it('writes a self-contained HTML report with inline SVG charts', async () => {
    const html = await readFile(htmlFile(), 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.equal(html.match(/<svg /g)?.length, 3, 'throughput, operations per second, ratio');
    assert.ok(html.includes(`fill="${DRIVER_COLOUR}"`) && html.includes(`fill="${BASELINE_COLOUR}"`));
    assert.doesNotMatch(html, /<script|<link|src=|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'nothing loaded from elsewhere');
  });

  it('renders in headless chromium: a full-size, non-blank screenshot with the chart colours', async function () {
    await requireService(this, 'chromium', () => ensureDebianPackage('chromium', CHROMIUM));
    const pngFile = join(out.path, 'bench.png');
    await screenshot(htmlFile(), pngFile);
    assert.ok(existsSync(pngFile), 'the screenshot exists');
    const png = PNG.sync.read(await readFile(pngFile));
    assert.deepEqual([png.width, png.height], [WINDOW.width, WINDOW.height]);
    // Bars of both series are drawn: each colour covers a real area, not a stray pixel.
    assert.ok(countColour(png, DRIVER_COLOUR) > 1000, `driver colour pixels: ${countColour(png, DRIVER_COLOUR)}`);
    assert.ok(countColour(png, BASELINE_COLOUR) > 300, `baseline colour pixels: ${countColour(png, BASELINE_COLOUR)}`);
  });

  it('--json alone prints the result as JSON on stdout; an --only that matches nothing is a usage error', async () => {
    const json = await runStowage(['bench', ...backend.args, '--quick', '--rounds', '1', '--only', 'List5', '--memory-size', '0', '--json']);
    assert.equal(json.code, 0, describeRun(json));
    assert.deepEqual(
      (JSON.parse(json.stdout) as { benchmarks: Array<{ name: string }> }).benchmarks.map((b) => b.name),
      ['List5'],
    );
    const nothing = await runStowage(['bench', ...backend.args, '--only', 'NoSuchBenchmark', '--memory-size', '0']);
    assert.equal(nothing.code, 2, describeRun(nothing));
  });
});
