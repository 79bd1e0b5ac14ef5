/** rewrite: redirect URLs with another scheme and host, a path prefix trimmed, the query (signature) kept. */
import assert from 'node:assert/strict';
import { InMemoryDriver } from '@stowage/inmemory';
import { RewriteMiddleware } from '@stowage/middleware';
import { ScriptedDriver } from './helpers';

describe('middleware: rewrite', () => {
  it('replaces scheme and host and trims the prefix, keeping the signed query', async () => {
    const inner = new ScriptedDriver();
    await inner.memory.putContent('/a/b', Buffer.from('x'));
    const driver = new RewriteMiddleware(inner, { scheme: 'http', host: 'proxy.internal:9000', trimPrefix: '/bucket' });
    assert.equal(await driver.redirectURL('/a/b'), 'http://proxy.internal:9000/a/b?sig=abc');
  });

  it('changes only what is given; a prefix matches whole path components only', async () => {
    const inner = new ScriptedDriver();
    await inner.memory.putContent('/a/b', Buffer.from('x'));
    assert.equal(await new RewriteMiddleware(inner, { host: 'cdn.test' }).redirectURL('/a/b'), 'https://cdn.test/bucket/a/b?sig=abc');
    assert.equal(await new RewriteMiddleware(inner, { scheme: 'http' }).redirectURL('/a/b'), 'http://store.example.test/bucket/a/b?sig=abc');
    assert.equal(await new RewriteMiddleware(inner, { trimPrefix: '/buck' }).redirectURL('/a/b'), 'https://store.example.test/bucket/a/b?sig=abc');
    assert.equal(await new RewriteMiddleware(inner, { trimPrefix: '/bucket/' }).redirectURL('/a/b'), 'https://store.example.test/a/b?sig=abc');
  });

  it('passes null through (a driver without redirects) and the driver errors', async () => {
    const driver = new RewriteMiddleware(new InMemoryDriver(), { host: 'cdn.test' });
    await driver.putContent('/f', Buffer.from('x'));
    assert.equal(await driver.redirectURL('/f'), null);
    await assert.rejects(new RewriteMiddleware(new ScriptedDriver(), { host: 'cdn.test' }).redirectURL('/missing'));
  });
});
