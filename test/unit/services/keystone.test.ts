import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { KEYSTONE_USERS, startKeystone, type KeystoneStandIn } from '../../services/keystone';
import { requireService } from '../../services/require-service';
import { startSwift, type SwiftService } from '../../services/swift';

const MiB = 1024 * 1024;
const { domain, user, project, applicationCredential, trust } = KEYSTONE_USERS;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const V3_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const V2_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

interface V3Endpoint {
  id: string;
  region: string;
  region_id: string;
  interface: string;
  url: string;
}
interface V3Token {
  methods: string[];
  user: { id: string; name: string };
  project?: { id: string; name: string; domain: { id: string } };
  expires_at: string;
  catalog?: { type: string; name: string; endpoints: V3Endpoint[] }[];
  application_credential?: { id: string };
  'OS-TRUST:trust'?: { id: string };
}
interface V2Access {
  token: { id: string; expires: string; tenant?: { id: string; name: string } };
  serviceCatalog: { type: string; endpoints: { region: string; publicURL: string; internalURL: string; adminURL: string }[] }[];
  user: { id: string };
}
interface KeystoneErrorBody {
  error: { code: number; title: string; message: string };
}

function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

describe('keystone stand-in', function () {
  this.timeout(120_000);

  // The stand-in under test, whichever Swift it fronts (set by the nested suites' hooks).
  let keystone: KeystoneStandIn;

  const passwordIdentity = { methods: ['password'], password: { user: { id: user.id, password: user.password } } };
  const projectScope = { project: { id: project.id } };

  async function v3(auth: object, query = ''): Promise<{ response: Response; token: string | null; body: unknown }> {
    const response = await postJson(`${keystone.authUrlV3}/auth/tokens${query}`, { auth });
    return { response, token: response.headers.get('x-subject-token'), body: await response.json() };
  }

  /** A v3 token scoped to project test, for requests through the proxy. */
  async function projectToken(): Promise<string> {
    const { response, token } = await v3({ identity: passwordIdentity, scope: projectScope });
    assert.equal(response.status, 201);
    return token!;
  }

  describe('with the local Swift', function () {
    let swift: SwiftService;
    const container = `stowage-keystone-${randomBytes(4).toString('hex')}`;

    /** Straight to Swift with tempauth, bypassing the stand-in. */
    async function direct(method: string, path: string): Promise<Response> {
      const login = await fetch(swift.authUrl, { headers: { 'X-Auth-User': swift.user, 'X-Auth-Key': swift.key } });
      const storageUrl = login.headers.get('x-storage-url')!;
      return fetch(`${storageUrl}${path}`, { method, headers: { 'X-Auth-Token': login.headers.get('x-auth-token')! } });
    }

    before(async function () {
      this.timeout(300_000); // a first start may apt-install Swift
      swift = await requireService(this, 'local Swift', () => startSwift());
      keystone = await startKeystone(swift);
      const created = await fetch(`${keystone.endpoint('RegionOne', 'public')}/${container}`, {
        method: 'PUT',
        headers: { 'X-Auth-Token': await projectToken() },
      });
      assert.equal(created.status, 201);
    });

    afterEach(() => keystone?.setTokenTtl(3600));

    after(async () => {
      if (!keystone) return;
      await keystone.close();
      const listing = await direct('GET', `/${container}?format=json`);
      if (listing.status === 200) {
        for (const object of (await listing.json()) as { name: string }[]) {
          await direct('DELETE', `/${container}/${encodeURIComponent(object.name)}`);
        }
        await direct('DELETE', `/${container}`);
      }
    });

    it('issues a v2 token and catalog for password credentials with tenantName or tenantId', async () => {
      const before = keystone.stats.issued.v2;
      for (const tenant of [{ tenantName: project.name }, { tenantId: project.id }]) {
        const response = await postJson(`${keystone.authUrlV2}/tokens`, {
          auth: { passwordCredentials: { username: user.name, password: user.password }, ...tenant },
        });
        assert.equal(response.status, 200);
        const { access } = (await response.json()) as { access: V2Access };
        assert.match(access.token.id, /\S{20,}/);
        assert.match(access.token.expires, V2_TIME);
        const lifetime = Date.parse(access.token.expires) - Date.now();
        assert.ok(lifetime > 3590_000 && lifetime <= 3600_000, `expires in ${lifetime} ms`);
        assert.equal(access.token.tenant?.id, project.id);
        assert.equal(access.token.tenant?.name, project.name);
        assert.equal(access.user.id, user.id);

        assert.notEqual(access.serviceCatalog[0]!.type, 'object-store', 'a decoy service comes first');
        const objectStore = access.serviceCatalog.find((service) => service.type === 'object-store')!;
        assert.deepEqual(
          objectStore.endpoints.map((e) => [e.region, e.publicURL, e.internalURL, e.adminURL]),
          (['RegionOne', 'RegionTwo'] as const).map((region) => [
            region,
            keystone.endpoint(region, 'public'),
            keystone.endpoint(region, 'internal'),
            keystone.endpoint(region, 'admin'),
          ]),
        );
      }
      assert.equal(keystone.stats.issued.v2, before + 2);
    });

    it('issues a v3 token with the catalog for a password, by user name and domain or by user id', async () => {
      const byName = {
        methods: ['password'],
        password: { user: { name: user.name, domain: { name: domain.name }, password: user.password } },
      };
      const scopeByName = { project: { name: project.name, domain: { id: domain.id } } };
      const before = keystone.stats.issued.v3;
      for (const [identity, scope] of [
        [byName, scopeByName],
        [passwordIdentity, projectScope],
      ] as const) {
        const { response, token, body } = await v3({ identity, scope });
        assert.equal(response.status, 201);
        assert.match(token ?? '', /\S{20,}/);
        const issued = (body as { token: V3Token }).token;
        assert.deepEqual(issued.methods, ['password']);
        assert.equal(issued.user.id, user.id);
        assert.equal(issued.project?.id, project.id);
        assert.match(issued.expires_at, V3_TIME);
        const lifetime = Date.parse(issued.expires_at) - Date.now();
        assert.ok(lifetime > 3590_000 && lifetime <= 3600_000, `expires in ${lifetime} ms`);

        assert.notEqual(issued.catalog![0]!.type, 'object-store', 'a decoy service comes first');
        const endpoints = issued.catalog!.find((service) => service.type === 'object-store')!.endpoints;
        assert.equal(endpoints.length, 6);
        assert.equal(new Set(endpoints.map((e) => e.url)).size, 6, 'each endpoint has its own URL');
        for (const endpoint of endpoints) {
          assert.equal(endpoint.region_id, endpoint.region);
          assert.equal(endpoint.url, keystone.endpoint(endpoint.region as 'RegionOne', endpoint.interface as 'public'));
        }
      }
      assert.equal(keystone.stats.issued.v3, before + 2);

      const withoutCatalog = await v3({ identity: passwordIdentity, scope: projectScope }, '?nocatalog');
      assert.equal(withoutCatalog.response.status, 201);
      assert.equal((withoutCatalog.body as { token: V3Token }).token.catalog, undefined);
    });

    it('accepts the application credential by id, and by name with its user, scoped to its own project', async () => {
      const { id, name, secret } = applicationCredential;
      for (const credential of [
        { id, secret },
        { name, secret, user: { name: user.name, domain: { name: domain.name } } },
        { name, secret, user: { id: user.id } },
      ]) {
        const { response, token, body } = await v3({
          identity: { methods: ['application_credential'], application_credential: credential },
        });
        assert.equal(response.status, 201, JSON.stringify(credential));
        assert.ok(token);
        const issued = (body as { token: V3Token }).token;
        assert.deepEqual(issued.methods, ['application_credential']);
        assert.equal(issued.application_credential?.id, id);
        assert.equal(issued.project?.id, project.id);
        assert.ok(issued.catalog?.some((service) => service.type === 'object-store'));
      }

      const wrongSecret = await v3({
        identity: { methods: ['application_credential'], application_credential: { id, secret: 'nope' } },
      });
      assert.equal(wrongSecret.response.status, 401);
      const withScope = await v3({
        identity: { methods: ['application_credential'], application_credential: { id, secret } },
        scope: projectScope,
      });
      assert.equal(withScope.response.status, 401, 'an application credential brings its own scope');
    });

    it('exchanges a valid token for a new one (token method), never outliving the original', async () => {
      keystone.setTokenTtl(120);
      const original = await v3({ identity: passwordIdentity, scope: projectScope });
      keystone.setTokenTtl(3600);
      const { response, token, body } = await v3({
        identity: { methods: ['token'], token: { id: original.token } },
        scope: projectScope,
      });
      assert.equal(response.status, 201);
      assert.ok(token && token !== original.token);
      const issued = (body as { token: V3Token }).token;
      assert.deepEqual(issued.methods, ['token']);
      assert.equal(issued.project?.id, project.id);
      assert.equal(issued.expires_at, (original.body as { token: V3Token }).token.expires_at);

      const listed = await fetch(`${keystone.endpoint('RegionOne', 'public')}/${container}`, { headers: { 'X-Auth-Token': token } });
      assert.ok(listed.ok, `the new token opens the proxy (${listed.status})`);

      const unknown = await v3({ identity: { methods: ['token'], token: { id: 'ks-not-issued-here' } }, scope: projectScope });
      assert.equal(unknown.response.status, 401);
    });

    it("scopes a token to the trust's project", async () => {
      const { response, token, body } = await v3({ identity: passwordIdentity, scope: { 'OS-TRUST:trust': { id: trust.id } } });
      assert.equal(response.status, 201);
      const issued = (body as { token: V3Token }).token;
      assert.equal(issued['OS-TRUST:trust']?.id, trust.id);
      assert.equal(issued.project?.id, project.id);
      const listed = await fetch(`${keystone.endpoint('RegionOne', 'public')}/${container}`, { headers: { 'X-Auth-Token': token! } });
      assert.ok(listed.ok, String(listed.status));

      const unknownTrust = await v3({ identity: passwordIdentity, scope: { 'OS-TRUST:trust': { id: 'trust-0' } } });
      assert.equal(unknownTrust.response.status, 401);
    });

    it('answers 401 with a Keystone error body to a wrong password or an unknown project, and counts them', async () => {
      const before = { ...keystone.stats.issued, rejected: keystone.stats.rejected };
      const v2 = async (auth: object) => {
        const response = await postJson(`${keystone.authUrlV2}/tokens`, { auth });
        return { response, body: await response.json() };
      };
      const refused = [
        await v2({ passwordCredentials: { username: user.name, password: 'wrong' }, tenantName: project.name }),
        await v2({ passwordCredentials: { username: user.name, password: user.password }, tenantName: 'nope' }),
        await v3({ identity: { methods: ['password'], password: { user: { id: user.id, password: 'wrong' } } }, scope: projectScope }),
        await v3({
          identity: { methods: ['password'], password: { user: { name: 'nobody', domain: { id: domain.id }, password: user.password } } },
        }),
        await v3({ identity: passwordIdentity, scope: { project: { id: 'p-nope' } } }),
        await v3({ identity: passwordIdentity, scope: { project: { name: project.name, domain: { name: 'Other' } } } }),
      ];
      for (const { response, body } of refused) {
        assert.equal(response.status, 401);
        assert.match(response.headers.get('www-authenticate') ?? '', /^Keystone uri=/);
        assert.equal(response.headers.get('x-subject-token'), null);
        const { error } = body as KeystoneErrorBody;
        assert.deepEqual([error.code, error.title], [401, 'Unauthorized']);
        assert.ok(error.message);
      }
      assert.equal(keystone.stats.rejected, before.rejected + refused.length);
      assert.deepEqual(keystone.stats.issued, { v2: before.v2, v3: before.v3 });

      const malformed = await postJson(`${keystone.authUrlV3}/auth/tokens`, { auth: { identity: { methods: 'password' } } });
      assert.equal(malformed.status, 400);
    });

    it('gives an unscoped token without a catalog when no scope is asked for; the proxy refuses it', async () => {
      const { response, token, body } = await v3({ identity: passwordIdentity });
      assert.equal(response.status, 201);
      const issued = (body as { token: V3Token }).token;
      assert.equal(issued.project, undefined);
      assert.deepEqual(issued.catalog, []);
      const refused = await fetch(`${keystone.endpoint('RegionOne', 'public')}/${container}`, { headers: { 'X-Auth-Token': token! } });
      assert.equal(refused.status, 401);
    });

    it('proxies PUT, HEAD, GET (with Range) and listings through the chosen endpoint, counted there only', async () => {
      const token = await projectToken();
      const base = `${keystone.endpoint('RegionTwo', 'internal')}/${container}`;
      const before = { ...keystone.stats.proxied };
      const data = randomBytes(100_000);

      const put = await fetch(`${base}/dir/object`, {
        method: 'PUT',
        headers: { 'X-Auth-Token': token, 'X-Object-Meta-Color': 'blue', 'Content-Type': 'application/x-test' },
        body: data,
      });
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('etag'), createHash('md5').update(data).digest('hex'));

      const head = await fetch(`${base}/dir/object`, { method: 'HEAD', headers: { 'X-Auth-Token': token } });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(data.length));
      assert.equal(head.headers.get('x-object-meta-color'), 'blue');
      assert.equal(head.headers.get('content-type'), 'application/x-test');
      assert.match(head.headers.get('x-timestamp') ?? '', /^\d+\.\d+$/);

      const ranged = await fetch(`${base}/dir/object`, { headers: { 'X-Auth-Token': token, Range: 'bytes=10-19' } });
      assert.equal(ranged.status, 206);
      assert.equal(ranged.headers.get('content-range'), `bytes 10-19/${data.length}`);
      assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(10, 20)));

      const whole = await fetch(`${base}/dir/object`, { headers: { 'X-Auth-Token': token } });
      assert.ok(Buffer.from(await whole.arrayBuffer()).equals(data));

      const listing = await fetch(`${base}?format=json&prefix=${encodeURIComponent('dir/')}`, { headers: { 'X-Auth-Token': token } });
      assert.equal(listing.status, 200);
      assert.deepEqual(
        ((await listing.json()) as { name: string }[]).map((o) => o.name),
        ['dir/object'],
      );
      const empty = await fetch(`${base}?format=json&prefix=nothing-here`, { headers: { 'X-Auth-Token': token } });
      assert.deepEqual(await empty.json(), [], 'the query string reaches Swift');

      const after = keystone.stats.proxied;
      for (const key of Object.keys(before)) {
        assert.equal(after[key], before[key]! + (key === 'RegionTwo/internal' ? 6 : 0), key);
      }

      const otherUrl = `${keystone.endpoint('RegionOne', 'admin')}/${container}/dir/object`;
      const other = await fetch(otherUrl, { headers: { 'X-Auth-Token': token } });
      assert.ok(Buffer.from(await other.arrayBuffer()).equals(data), 'every endpoint reaches the same Swift');
      assert.equal(keystone.stats.proxied['RegionOne/admin'], before['RegionOne/admin']! + 1);
    });

    it('passes large-object manifests (SLO query and headers, DLO header) through', async () => {
      const token = await projectToken();
      const base = `${keystone.endpoint('RegionOne', 'public')}/${container}`;
      const segments = [randomBytes(1000), randomBytes(2000)];
      const etags: string[] = [];
      for (const [i, segment] of segments.entries()) {
        const put = await fetch(`${base}/segments/${i}`, { method: 'PUT', headers: { 'X-Auth-Token': token }, body: segment });
        assert.equal(put.status, 201);
        etags.push(put.headers.get('etag')!);
      }
      const manifest = segments.map((segment, i) => ({ path: `/${container}/segments/${i}`, etag: etags[i], size_bytes: segment.length }));
      const slo = await fetch(`${base}/slo?multipart-manifest=put`, {
        method: 'PUT',
        headers: { 'X-Auth-Token': token },
        body: JSON.stringify(manifest),
      });
      assert.equal(slo.status, 201);
      const sloHead = await fetch(`${base}/slo`, { method: 'HEAD', headers: { 'X-Auth-Token': token } });
      assert.equal(sloHead.headers.get('x-static-large-object'), 'True');
      assert.equal(sloHead.headers.get('content-length'), '3000');
      const sloGet = await fetch(`${base}/slo`, { headers: { 'X-Auth-Token': token } });
      assert.ok(Buffer.from(await sloGet.arrayBuffer()).equals(Buffer.concat(segments)));

      const dlo = await fetch(`${base}/dlo`, {
        method: 'PUT',
        headers: { 'X-Auth-Token': token, 'X-Object-Manifest': `${container}/segments/` },
        body: '',
      });
      assert.equal(dlo.status, 201);
      const dloGet = await fetch(`${base}/dlo`, { headers: { 'X-Auth-Token': token } });
      assert.equal(dloGet.headers.get('x-object-manifest'), `${container}/segments/`);
      assert.ok(Buffer.from(await dloGet.arrayBuffer()).equals(Buffer.concat(segments)));
    });

    it('passes a chunked upload (no Content-Length) through', async () => {
      const token = await projectToken();
      const pieces = [randomBytes(300_000), randomBytes(5), randomBytes(700_000)];
      const url = new URL(`${keystone.endpoint('RegionOne', 'public')}/${container}/chunked`);
      const request = http.request(url, { method: 'PUT', headers: { 'X-Auth-Token': token, 'Transfer-Encoding': 'chunked' } });
      for (const piece of pieces) request.write(piece);
      request.end();
      const [response] = (await once(request, 'response')) as [http.IncomingMessage];
      response.resume();
      assert.equal(response.statusCode, 201);

      const got = await fetch(url, { headers: { 'X-Auth-Token': token } });
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(Buffer.concat(pieces)));
    });

    it('refuses missing, unknown and expired tokens with 401 without forwarding; a fresh token works again', async () => {
      const url = `${keystone.endpoint('RegionOne', 'public')}/${container}`;
      const head = (token?: string) => fetch(url, { method: 'HEAD', headers: token ? { 'X-Auth-Token': token } : {} });
      const proxied = keystone.stats.proxied['RegionOne/public']!;
      const rejected = keystone.stats.rejected;

      assert.equal((await head()).status, 401);
      assert.equal((await head('ks-not-issued-here')).status, 401);

      keystone.setTokenTtl(1);
      const shortLived = await projectToken();
      assert.equal((await head(shortLived)).status, 204);
      await sleep(1100);
      const expired = await head(shortLived);
      assert.equal(expired.status, 401);
      assert.match(expired.headers.get('www-authenticate') ?? '', /^Keystone uri=/);
      const exchange = await v3({ identity: { methods: ['token'], token: { id: shortLived } }, scope: projectScope });
      assert.equal(exchange.response.status, 401, 'an expired token cannot buy a new one');

      keystone.setTokenTtl(3600);
      const fresh = await projectToken();
      assert.equal((await head(fresh)).status, 204);
      keystone.expireAll();
      assert.equal((await head(fresh)).status, 401);
      assert.equal((await head(await projectToken())).status, 204, 'tokens issued after expireAll() work');

      assert.equal(keystone.stats.rejected, rejected + 5);
      assert.equal(keystone.stats.proxied['RegionOne/public'], proxied + 3, 'refused requests are not forwarded');
    });

    it('passes TempURL requests to Swift without checking a token', async () => {
      const token = await projectToken();
      const base = keystone.endpoint('RegionTwo', 'public');
      const key = randomBytes(16).toString('hex');
      const setKey = await fetch(`${base}/${container}`, {
        method: 'POST',
        headers: { 'X-Auth-Token': token, 'X-Container-Meta-Temp-URL-Key': key },
      });
      assert.equal(setKey.status, 204);
      const data = randomBytes(1000);
      const put = await fetch(`${base}/${container}/temp`, { method: 'PUT', headers: { 'X-Auth-Token': token }, body: data });
      assert.equal(put.status, 201);

      const rejected = keystone.stats.rejected;
      const proxied = keystone.stats.proxied['RegionTwo/public']!;
      const expires = Math.floor(Date.now() / 1000) + 300;
      const swiftPath = new URL(`${base}/${container}/temp`).pathname.replace(/^\/swift\/RegionTwo\/public/, '');
      const signature = createHmac('sha256', key).update(`GET\n${expires}\n${swiftPath}`).digest('hex');
      const signed = await fetch(`${base}/${container}/temp?temp_url_sig=${signature}&temp_url_expires=${expires}`);
      assert.equal(signed.status, 200);
      assert.ok(Buffer.from(await signed.arrayBuffer()).equals(data));

      // Swift, not the stand-in, refuses a bad signature.
      const forged = await fetch(`${base}/${container}/temp?temp_url_sig=${'0'.repeat(64)}&temp_url_expires=${expires}`);
      assert.equal(forged.status, 401);
      assert.match(await forged.text(), /Temp URL invalid/);

      assert.equal(keystone.stats.rejected, rejected);
      assert.equal(keystone.stats.proxied['RegionTwo/public'], proxied + 2);
    });

    it('passes GET /info without a token', async () => {
      const rejected = keystone.stats.rejected;
      const info = await fetch(keystone.endpoint('RegionOne', 'internal').replace(/\/v1\/AUTH_test$/, '/info'));
      assert.equal(info.status, 200);
      const body = (await info.json()) as { swift?: { version: string }; tempurl?: object };
      assert.ok(body.swift?.version && body.tempurl);
      assert.equal(keystone.stats.rejected, rejected);
    });

    it('streams 64 MiB up and down unchanged', async () => {
      const token = await projectToken();
      const url = `${keystone.endpoint('RegionOne', 'internal')}/${container}/large`;
      const data = randomBytes(64 * MiB);
      const put = await fetch(url, { method: 'PUT', headers: { 'X-Auth-Token': token }, body: data });
      assert.equal(put.status, 201);

      const got = await fetch(url, { headers: { 'X-Auth-Token': token } });
      assert.equal(got.status, 200);
      assert.equal(got.headers.get('content-length'), String(data.length));
      const hash = createHash('sha256');
      let received = 0;
      for await (const chunk of got.body as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        received += chunk.length;
      }
      assert.equal(received, data.length);
      assert.equal(hash.digest('hex'), sha256(data));
    });

    it('keeps serving after clients abort an upload or a download, and stores no partial object', async () => {
      const token = await projectToken();
      const url = new URL(`${keystone.endpoint('RegionOne', 'public')}/${container}/aborted`);
      const upload = http.request(url, { method: 'PUT', headers: { 'X-Auth-Token': token, 'Content-Length': String(8 * MiB) } });
      upload.on('error', () => {});
      upload.write(randomBytes(MiB));
      await sleep(300);
      upload.destroy();

      const source = new URL(`${keystone.endpoint('RegionOne', 'public')}/${container}/download`);
      assert.equal((await fetch(source, { method: 'PUT', headers: { 'X-Auth-Token': token }, body: randomBytes(16 * MiB) })).status, 201);
      const download = http.get(source, { headers: { 'X-Auth-Token': token } });
      download.on('error', () => {});
      const [response] = (await once(download, 'response')) as [http.IncomingMessage];
      response.on('error', () => {});
      await once(response, 'data');
      download.destroy();

      await sleep(300);
      const head = await fetch(url, { method: 'HEAD', headers: { 'X-Auth-Token': token } });
      assert.equal(head.status, 404, 'the aborted upload left nothing');
      const again = await fetch(source, { headers: { 'X-Auth-Token': token } });
      assert.equal((await again.arrayBuffer()).byteLength, 16 * MiB);
    });
  });

  // The proxy's dealings with Swift that the real Swift can't be made to show on demand: a revoked
  // tempauth token, and a request dying on either side.
  describe('with a fake Swift', function () {
    let fake: FakeSwift;

    before(async () => {
      fake = await FakeSwift.start();
      keystone = await startKeystone(fake.access);
    });

    after(async () => {
      await keystone?.close();
      await fake?.close();
    });

    it('logs in to Swift once, lazily, and again once when Swift refuses the cached token', async () => {
      assert.equal(fake.logins, 0, 'no login before the first proxied request');
      const token = await projectToken();
      const base = keystone.endpoint('RegionOne', 'public');
      for (let i = 0; i < 3; i++) assert.equal((await fetch(`${base}/c/small`, { headers: { 'X-Auth-Token': token } })).status, 200);
      assert.equal(fake.logins, 1);
      assert.ok(
        fake.seen.every((seen) => seen.token === 'AUTH_tk1'),
        'the stand-in token is replaced',
      );

      fake.revokeAll();
      assert.equal((await fetch(`${base}/c/small`, { headers: { 'X-Auth-Token': token } })).status, 200);
      assert.equal(fake.logins, 2);

      // With a body: Swift refuses before 100 Continue, so the body is sent once, with the new token.
      fake.revokeAll();
      fake.seen.length = 0;
      const body = randomBytes(3 * MiB);
      const put = await fetch(`${base}/c/put`, { method: 'PUT', headers: { 'X-Auth-Token': token }, body });
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('x-received-sha256'), sha256(body));
      assert.equal(fake.logins, 3);
      assert.deepEqual(
        fake.seen.map((seen) => [seen.method, seen.token, seen.status]),
        [
          ['PUT', 'AUTH_tk2', 401],
          ['PUT', 'AUTH_tk3', 201],
        ],
      );

      // Swift refusing every token: one retry, then Swift's 401 reaches the client (not counted as the stand-in's).
      fake.refuseEverything = true;
      fake.seen.length = 0;
      const rejected = keystone.stats.rejected;
      const refused = await fetch(`${base}/c/small`, { headers: { 'X-Auth-Token': token } });
      assert.equal(refused.status, 401);
      assert.equal(fake.seen.length, 2);
      assert.equal(keystone.stats.rejected, rejected);
      fake.refuseEverything = false;
    });

    it('aborts the Swift request when the client goes away mid-upload or mid-download', async () => {
      const token = await projectToken();
      const upload = http.request(new URL(`${keystone.endpoint('RegionOne', 'public')}/c/slow-put`), {
        method: 'PUT',
        headers: { 'X-Auth-Token': token, 'Content-Length': String(10 * MiB) },
      });
      upload.on('error', () => {});
      upload.write(randomBytes(MiB));
      const uploadSeen = await fake.next('/v1/AUTH_test/c/slow-put');
      await once(uploadSeen.request, 'data');
      upload.destroy();
      await withTimeout(closed(uploadSeen.request), 2000, 'Swift saw the upload aborted');
      assert.equal(uploadSeen.request.complete, false);

      const download = http.get(new URL(`${keystone.endpoint('RegionOne', 'public')}/c/endless`), { headers: { 'X-Auth-Token': token } });
      download.on('error', () => {});
      const [response] = (await once(download, 'response')) as [http.IncomingMessage];
      response.on('error', () => {});
      await once(response, 'data');
      const downloadSeen = fake.seen.find((seen) => seen.path === '/v1/AUTH_test/c/endless')!;
      download.destroy();
      await withTimeout(closed(downloadSeen.response), 2000, 'Swift saw the download aborted');
      assert.equal(downloadSeen.response.writableFinished, false);
    });

    it('cuts the client off when Swift dies mid-response, and keeps serving', async () => {
      const token = await projectToken();
      const broken = await fetch(`${keystone.endpoint('RegionOne', 'public')}/c/dies`, { headers: { 'X-Auth-Token': token } });
      assert.equal(broken.status, 200);
      await assert.rejects(broken.arrayBuffer());
      const after = await fetch(`${keystone.endpoint('RegionOne', 'public')}/c/small`, { headers: { 'X-Auth-Token': token } });
      assert.equal(after.status, 200);
    });
  });
});

/** Resolves on 'close' (events.once would reject on the 'error' an abort emits first). */
function closed(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    sleep(ms).then(() => {
      throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    }),
  ]);
}

interface Seen {
  method: string;
  path: string;
  token: string | undefined;
  status?: number;
  request: http.IncomingMessage;
  response: http.ServerResponse;
}

/**
 * Just enough of Swift for the proxy tests: tempauth logins that hand out AUTH_tk1, AUTH_tk2, …;
 * auth checked before 100 Continue as Swift does; a few fixed objects.
 */
class FakeSwift {
  logins = 0;
  refuseEverything = false;
  readonly seen: Seen[] = [];
  private validToken: string | undefined;
  private waiters: { path: string; resolve: (seen: Seen) => void }[] = [];

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<FakeSwift> {
    const server = http.createServer();
    const fake = new FakeSwift(server);
    server.on('request', (req, res) => fake.handle(req, res, false));
    server.on('checkContinue', (req, res) => fake.handle(req, res, true));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return fake;
  }

  get access() {
    const endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return { authUrl: `${endpoint}/auth/v1.0`, user: 'test:tester', key: 'testing', endpoint };
  }

  revokeAll(): void {
    this.validToken = undefined;
  }

  /** The next request for `path`, as it arrives. */
  next(path: string): Promise<Seen> {
    return new Promise((resolve) => this.waiters.push({ path, resolve }));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean): void {
    const path = req.url ?? '/';
    if (path === '/auth/v1.0') {
      this.logins++;
      this.validToken = `AUTH_tk${this.logins}`;
      res.writeHead(200, { 'X-Auth-Token': this.validToken, 'X-Storage-Url': `${this.access.endpoint}/v1/AUTH_test` });
      res.end();
      return;
    }
    const token = req.headers['x-auth-token'] as string | undefined;
    const seen: Seen = { method: req.method!, path, token, request: req, response: res };
    this.seen.push(seen);
    const waiter = this.waiters.find((w) => w.path === path);
    if (waiter) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(seen);
    }
    const reply = (status: number, headers: http.OutgoingHttpHeaders = {}, body = '') => {
      seen.status = status;
      res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (this.refuseEverything || token === undefined || token !== this.validToken) {
      reply(401, {}, 'Unauthorized');
      return;
    }
    if (expectsContinue) res.writeContinue();
    res.on('error', () => {});
    req.on('error', () => {});

    if (req.method === 'PUT') {
      const hash = createHash('sha256');
      req.on('data', (chunk: Buffer) => hash.update(chunk));
      req.on('end', () => reply(201, { 'X-Received-Sha256': hash.digest('hex') }));
    } else if (path === '/v1/AUTH_test/c/small') {
      reply(200, {}, 'small');
    } else if (path === '/v1/AUTH_test/c/endless') {
      // Writes until the reader goes away (bounded, in case it never does).
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (!res.destroyed && sent < 1024 * MiB) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
    } else if (path === '/v1/AUTH_test/c/dies') {
      res.writeHead(200, { 'Content-Length': 10 * MiB });
      res.write(Buffer.alloc(MiB), () => res.destroy());
    } else {
      reply(404);
    }
  }
}
