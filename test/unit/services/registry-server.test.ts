import assert from 'node:assert/strict';
import { launchRegistryServer } from '../../services/registry-server';
import { ServiceUnavailableError } from '../../services/docker-registry';

/** The one child-process launcher behind docker-registry, stowage-registry and the registry benchmark. */
describe('services: registry server launcher', function () {
  // A stand-in registry: answers /v2/ with 401 (as one with auth does) on port 0 and logs its URL.
  const standIn = [
    "const http = require('node:http');",
    "const server = http.createServer((req, res) => { res.statusCode = req.url === '/v2/' ? 401 : 404; res.end(); });",
    "server.listen(0, '127.0.0.1', () => console.log('listening url=http://127.0.0.1:' + server.address().port));",
    "process.on('SIGTERM', () => server.close(() => process.exit(0)));",
  ].join('\n');

  it('finds the logged URL, waits for /v2/ to answer, and stops the server by PID with its exit code', async () => {
    const server = await launchRegistryServer({
      name: 'stand-in',
      command: process.execPath,
      args: ['-e', standIn],
      listen: { urlPattern: /listening url=(\S+)/ },
    });
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    assert.equal((await fetch(`${server.url}/v2/`)).status, 401);
    assert.equal(await server.stop(), 0);
    assert.throws(() => process.kill(server.pid, 0), { code: 'ESRCH' });
  });

  it('a server that exits before it answers fails the launch with the given error class and its output', async () => {
    const launch = launchRegistryServer({
      name: 'broken',
      command: process.execPath,
      args: ['-e', "console.error('bad config'); process.exit(3)"],
      listen: { port: 1 },
      errorClass: ServiceUnavailableError,
    });
    await assert.rejects(
      launch,
      (err: unknown) => err instanceof ServiceUnavailableError && /broken exited \(3\)/.test(String(err)) && /bad config/.test(String(err)),
    );
  });

  it('a server that never answers fails once the timeout passes', async () => {
    const launch = launchRegistryServer({
      name: 'silent',
      command: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000)'],
      listen: { urlPattern: /never (\S+)/ },
      readyTimeoutMs: 500,
    });
    await assert.rejects(launch, /silent did not answer GET \(no URL logged yet\)\/v2\/ within 0.5s/);
  });
});
