import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { assertError, call, startTestRegistry, type TestRegistry } from './helpers';

describe('registry auth.htpasswd', () => {
  let work: string;
  let registry: TestRegistry;
  const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'stowage-registry-auth-'));
    // htpasswd -B writes $2y$ hashes; bcryptjs writes $2b$: the same algorithm.
    const alice = bcrypt.hashSync('wonderland', 4).replace(/^\$2b\$/, '$2y$');
    await writeFile(join(work, 'htpasswd'), `# users\nalice:${alice}\nbob:{SHA}not-bcrypt-so-ignored\n`);
    registry = await startTestRegistry('inmemory', {
      extraYaml: `auth:\n  htpasswd:\n    realm: test-realm\n    path: ${JSON.stringify(join(work, 'htpasswd'))}\n`,
    });
  });

  after(async () => {
    await registry?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('answers 401 UNAUTHORIZED with a Basic challenge without credentials, with wrong ones and for non-bcrypt entries', async () => {
    for (const headers of [{}, basic('alice', 'wrong'), basic('nobody', 'x'), basic('bob', 'x'), { Authorization: 'Bearer abc' }]) {
      const reply = await call(registry, 'GET', '/v2/', { headers });
      assertError(reply, 401, 'UNAUTHORIZED');
      assert.equal(reply.headers.get('www-authenticate'), 'Basic realm="test-realm"');
      assert.doesNotMatch(reply.body.toString(), /wonderland|wrong/);
    }
    assertError(await call(registry, 'GET', '/v2/a/tags/list'), 401, 'UNAUTHORIZED');
  });

  it('serves a user whose bcrypt entry matches, on every request', async () => {
    assert.equal((await call(registry, 'GET', '/v2/', { headers: basic('alice', 'wonderland') })).status, 200);
    assert.equal((await call(registry, 'GET', '/v2/', { headers: basic('alice', 'wonderland') })).status, 200);
    assertError(await call(registry, 'GET', '/v2/a/tags/list', { headers: basic('alice', 'wonderland') }), 404, 'NAME_UNKNOWN');
  });
});
