import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger, parseConfig, startRegistry } from '@stowage/example-registry';
import { ServiceUnavailableError } from '../../services/docker-registry';
import { requireService } from '../../services/require-service';

describe('registry http.tls', function () {
  let work: string;

  before(async function () {
    work = await mkdtemp(join(tmpdir(), 'stowage-registry-tls-'));
    await requireService(this, 'openssl', async () => {
      if (!existsSync('/usr/bin/openssl')) throw new ServiceUnavailableError('openssl is not installed (apt-get install openssl)');
      await promisify(execFile)('/usr/bin/openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(work, 'key.pem'),
        '-out',
        join(work, 'cert.pem'),
      ]);
    });
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('serves HTTPS with the configured certificate and key', async () => {
    const config = parseConfig(
      `storage:\n  inmemory:\nlog:\n  level: error\nhttp:\n  addr: 127.0.0.1:0\n  tls:\n    certificate: ${JSON.stringify(join(work, 'cert.pem'))}\n    key: ${JSON.stringify(join(work, 'key.pem'))}\n`,
    );
    const registry = await startRegistry(config);
    try {
      assert.match(registry.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = await readFile(join(work, 'cert.pem'));
      const status = await new Promise<number>((resolve, reject) => {
        get(`${registry.url}/v2/`, { ca }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        }).on('error', reject);
      });
      assert.equal(status, 200);
    } finally {
      await registry.close();
    }
  });
});

describe('registry logging', () => {
  it('writes levels at and above the configured one, as `time level message key=value`', () => {
    const lines: string[] = [];
    const logger = createLogger('warn', (line) => lines.push(line));
    logger.debug('hidden');
    logger.info('hidden too');
    logger.warn('shown', { path: '/v2/a b', status: 404, skipped: undefined });
    logger.error('also shown');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z warn shown path="\/v2\/a b" status=404$/);
    assert.match(lines[1]!, / error "also shown"$/);
  });

  it('a registry at log.level info logs each request; at error it logs none', async () => {
    for (const level of ['info', 'error'] as const) {
      const lines: string[] = [];
      const config = parseConfig(`storage:\n  inmemory:\nlog:\n  level: ${level}\nhttp:\n  addr: 127.0.0.1:0\n`);
      const registry = await startRegistry(config, { logger: createLogger(level, (line) => lines.push(line)) });
      try {
        await (await fetch(`${registry.url}/v2/no/such/tags/list`)).arrayBuffer();
      } finally {
        await registry.close();
      }
      const requests = lines.filter((line) => line.includes(' request '));
      if (level === 'info') assert.match(requests[0] ?? '', /method=GET path=\/v2\/no\/such\/tags\/list status=404 bytes=\d+ received=\d+ ms=\d+/);
      else assert.deepEqual(requests, []);
    }
  });
});
