import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { layout } from '@stowage/example-registry';
import { assertError, call, describeRegistry, disconnectMidBody, pushBlob, sha256Digest, snapshot, startUpload } from './helpers';

const octets = { 'Content-Type': 'application/octet-stream' };

describeRegistry('uploads', (registry) => {
  it('POST, PATCH, PATCH, PUT with the last chunk: 202s with Location and Range, then 201 and the blob', async () => {
    const data = randomBytes(300_000);
    const location = await startUpload(registry(), 'up/a');
    assert.match(location, /^\/v2\/up\/a\/blobs\/uploads\/[0-9a-f-]{36}$/);
    let reply = await call(registry(), 'PATCH', location, { body: data.subarray(0, 100_000), headers: { ...octets, 'Content-Range': '0-99999' } });
    assert.equal(reply.status, 202);
    assert.equal(reply.headers.get('range'), '0-99999');
    assert.equal(reply.headers.get('location'), location);
    reply = await call(registry(), 'PATCH', location, { body: data.subarray(100_000, 250_000), headers: { ...octets, 'Content-Range': '100000-249999' } });
    assert.equal(reply.headers.get('range'), '0-249999');
    const status = await call(registry(), 'GET', location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-249999');
    const digest = sha256Digest(data);
    reply = await call(registry(), 'PUT', `${location}?digest=${digest}`, {
      body: data.subarray(250_000),
      headers: { ...octets, 'Content-Range': '250000-299999' },
    });
    assert.equal(reply.status, 201, reply.body.toString());
    assert.equal(reply.headers.get('location'), `/v2/up/a/blobs/${digest}`);
    assert.equal(reply.headers.get('docker-content-digest'), digest);
    assert.ok((await call(registry(), 'GET', `/v2/up/a/blobs/${digest}`)).body.equals(data));
    assertError(await call(registry(), 'GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('a streamed PATCH without Content-Range and a PUT without a body', async () => {
    const data = randomBytes(70_000);
    const location = await startUpload(registry(), 'up/a');
    assert.equal((await call(registry(), 'PATCH', location, { body: data, headers: octets })).status, 202);
    const reply = await call(registry(), 'PUT', `${location}?digest=${sha256Digest(data)}`);
    assert.equal(reply.status, 201, reply.body.toString());
    assert.ok((await call(registry(), 'GET', `/v2/up/a/blobs/${sha256Digest(data)}`)).body.equals(data));
  });

  it('a chunk that does not start at the stored size is 416 with Range and Location, and is not stored', async () => {
    const location = await startUpload(registry(), 'up/a');
    await call(registry(), 'PATCH', location, { body: Buffer.alloc(10, 1), headers: { ...octets, 'Content-Range': '0-9' } });
    for (const range of ['20-29', '0-9', '5-14']) {
      const reply = await call(registry(), 'PATCH', location, { body: Buffer.alloc(10, 2), headers: { ...octets, 'Content-Range': range } });
      assert.equal(reply.status, 416, range);
      assert.equal(reply.headers.get('range'), '0-9');
      assert.equal(reply.headers.get('location'), location);
    }
    assert.equal((await call(registry(), 'GET', location)).headers.get('range'), '0-9');
  });

  it('a malformed Content-Range is 400 and one that disagrees with the body SIZE_INVALID; nothing stored', async () => {
    const location = await startUpload(registry(), 'up/a');
    assertError(
      await call(registry(), 'PATCH', location, { body: Buffer.alloc(10), headers: { ...octets, 'Content-Range': 'zero-nine' } }),
      400,
      'BLOB_UPLOAD_INVALID',
    );
    assertError(await call(registry(), 'PATCH', location, { body: Buffer.alloc(10), headers: { ...octets, 'Content-Range': '0-99' } }), 400, 'SIZE_INVALID');
    assertError(
      await call(registry(), 'PATCH', location, { body: Buffer.alloc(10), headers: { ...octets, 'Content-Range': '9-0' } }),
      416,
      'BLOB_UPLOAD_INVALID',
    );
    const status = await call(registry(), 'GET', location);
    assert.equal(status.headers.get('range'), '0-0');
    await call(registry(), 'PATCH', location, { body: Buffer.alloc(3), headers: octets });
    assert.equal((await call(registry(), 'GET', location)).headers.get('range'), '0-2');
  });

  it('DELETE cancels the session (204) and leaves no trace', async () => {
    const before = await snapshot(registry().driver);
    const location = await startUpload(registry(), 'up/cancel');
    await call(registry(), 'PATCH', location, { body: randomBytes(5000), headers: octets });
    assert.equal((await call(registry(), 'DELETE', location)).status, 204);
    assertError(await call(registry(), 'GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
    assertError(await call(registry(), 'PATCH', location, { body: Buffer.alloc(1), headers: octets }), 404, 'BLOB_UPLOAD_UNKNOWN');
    assert.deepEqual(await snapshot(registry().driver), before);
  });

  it('unknown and malformed upload ids are BLOB_UPLOAD_UNKNOWN', async () => {
    assertError(await call(registry(), 'GET', '/v2/up/a/blobs/uploads/0b0b0b0b-0000-4000-8000-000000000000'), 404, 'BLOB_UPLOAD_UNKNOWN');
    assertError(await call(registry(), 'PATCH', '/v2/up/a/blobs/uploads/..%2F..%2Fx', { body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('a PUT whose digest does not match is DIGEST_INVALID and stores nothing (the upload is discarded)', async () => {
    const before = await snapshot(registry().driver);
    const data = randomBytes(1000);
    const location = await startUpload(registry(), 'up/bad');
    await call(registry(), 'PATCH', location, { body: data, headers: octets });
    const wrong = sha256Digest(Buffer.from('something else'));
    assertError(await call(registry(), 'PUT', `${location}?digest=${wrong}`), 400, 'DIGEST_INVALID');
    assertError(await call(registry(), 'GET', `/v2/up/bad/blobs/${wrong}`), 404, 'BLOB_UNKNOWN');
    assert.deepEqual(await snapshot(registry().driver), before);
  });

  it('a PUT with a malformed or missing digest is DIGEST_INVALID and the upload stays usable', async () => {
    const data = randomBytes(1000);
    const location = await startUpload(registry(), 'up/a');
    await call(registry(), 'PATCH', location, { body: data, headers: octets });
    assertError(await call(registry(), 'PUT', `${location}?digest=sha256:1234`), 400, 'DIGEST_INVALID');
    assertError(await call(registry(), 'PUT', location), 400, 'DIGEST_INVALID');
    assert.equal((await call(registry(), 'PUT', `${location}?digest=${sha256Digest(data)}`)).status, 201);
  });

  it('a monolithic POST ?digest= stores the blob (201); with a wrong digest it stores nothing', async () => {
    const data = randomBytes(2000);
    await pushBlob(registry(), 'up/mono', data);
    assert.ok((await call(registry(), 'GET', `/v2/up/mono/blobs/${sha256Digest(data)}`)).body.equals(data));
    const before = await snapshot(registry().driver);
    const wrong = sha256Digest(Buffer.from('not this'));
    assertError(
      await call(registry(), 'POST', `/v2/up/mono/blobs/uploads/?digest=${wrong}`, { body: randomBytes(100), headers: octets }),
      400,
      'DIGEST_INVALID',
    );
    assertError(
      await call(registry(), 'POST', '/v2/up/mono/blobs/uploads/?digest=sha256:xyz', { body: randomBytes(100), headers: octets }),
      400,
      'DIGEST_INVALID',
    );
    assert.deepEqual(await snapshot(registry().driver), before);
  });

  it('mount from another repository links the blob (201); an unmountable one opens a session (202)', async () => {
    const data = randomBytes(3000);
    const digest = await pushBlob(registry(), 'up/source', data);
    let reply = await call(registry(), 'POST', `/v2/up/target/blobs/uploads/?mount=${digest}&from=up/source`);
    assert.equal(reply.status, 201);
    assert.equal(reply.headers.get('location'), `/v2/up/target/blobs/${digest}`);
    assert.ok((await call(registry(), 'GET', `/v2/up/target/blobs/${digest}`)).body.equals(data));
    reply = await call(registry(), 'POST', `/v2/up/target2/blobs/uploads/?mount=${digest}&from=up/nothing-here`);
    assert.equal(reply.status, 202);
    assert.match(reply.headers.get('location')!, /^\/v2\/up\/target2\/blobs\/uploads\//);
    assertError(await call(registry(), 'GET', `/v2/up/target2/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    assertError(await call(registry(), 'POST', `/v2/up/target/blobs/uploads/?mount=${digest}&from=UP/Bad`), 400, 'NAME_INVALID');
  });

  it('a client that disconnects mid-PATCH leaves a resumable upload: status says what is stored and the next PATCH continues', async () => {
    const data = randomBytes(200_000);
    const location = await startUpload(registry(), 'up/resume');
    await call(registry(), 'PATCH', location, { body: data.subarray(0, 50_000), headers: { ...octets, 'Content-Range': '0-49999' } });
    await disconnectMidBody(registry(), 'PATCH', location, data.subarray(50_000, 120_000), 150_000);
    // The spec's recovery: ask for the status, continue from there (again after a 416, should the
    // cut-off request still be storing when the status was read).
    let stored = -1;
    for (let attempt = 0; attempt < 3 && stored < 0; attempt++) {
      const status = await call(registry(), 'GET', location);
      assert.equal(status.status, 204);
      const size = Number(status.headers.get('range')!.split('-')[1]) + 1;
      assert.ok(size >= 50_000 && size <= 120_000, `stored ${size}: at least the first chunk, at most what was sent`);
      const reply = await call(registry(), 'PATCH', location, { body: data.subarray(size), headers: { ...octets, 'Content-Range': `${size}-199999` } });
      if (reply.status === 202) stored = size;
      else assert.equal(reply.status, 416);
    }
    assert.ok(stored >= 50_000, 'resumed');
    assert.equal((await call(registry(), 'PUT', `${location}?digest=${sha256Digest(data)}`)).status, 201, 'the digest state covers exactly the stored bytes');
    assert.ok((await call(registry(), 'GET', `/v2/up/resume/blobs/${sha256Digest(data)}`)).body.equals(data));
  });

  it('bytes stored without a saved digest state (a process died in between) are read back once at PUT', async () => {
    const data = randomBytes(90_000);
    const location = await startUpload(registry(), 'up/lag');
    const id = location.slice(location.lastIndexOf('/') + 1);
    await call(registry(), 'PATCH', location, { body: data.subarray(0, 30_000), headers: octets });
    // What a registry process that died after writing but before saving the state leaves behind.
    const writer = await registry().driver.writer(layout.uploadDataPath('up/lag', id), true);
    await writer.write(data.subarray(30_000, 60_000));
    await writer.close();
    assert.equal((await call(registry(), 'GET', location)).headers.get('range'), '0-59999');
    await call(registry(), 'PATCH', location, { body: data.subarray(60_000), headers: { ...octets, 'Content-Range': '60000-89999' } });
    const reply = await call(registry(), 'PUT', `${location}?digest=${sha256Digest(data)}`);
    assert.equal(reply.status, 201, reply.body.toString());
    assert.ok((await call(registry(), 'GET', `/v2/up/lag/blobs/${sha256Digest(data)}`)).body.equals(data));
  });

  it('a lagging digest state still catches a wrong digest, and nothing is published', async () => {
    const before = await snapshot(registry().driver);
    const location = await startUpload(registry(), 'up/lagbad');
    const id = location.slice(location.lastIndexOf('/') + 1);
    const writer = await registry().driver.writer(layout.uploadDataPath('up/lagbad', id), true);
    await writer.write(randomBytes(1000));
    await writer.close();
    const wrong = sha256Digest(Buffer.from('wrong'));
    assertError(await call(registry(), 'PUT', `${location}?digest=${wrong}`), 400, 'DIGEST_INVALID');
    assert.deepEqual(await snapshot(registry().driver), before);
  });
});
