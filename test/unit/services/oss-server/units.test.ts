/** The server's building blocks, checked against ali-oss's own signing code where there is one. */
import assert from 'node:assert/strict';
import { stringToSignV1 } from '../../../services/oss/auth-v1';
import { canonicalRequestV4, signV4, signingKeyV4, stringToSignV4 } from '../../../services/oss/auth-v4';
import { parseQuery } from '../../../services/oss/encoding';
import { decideRange } from '../../../services/oss/handlers/object';
import { bucketFromHost, resolveTarget } from '../../../services/oss/request';
import { sliceChunks } from '../../../services/oss/store';
import { XmlParseError, parseXml, xmlDocument } from '../../../services/oss/xml';

interface AliOssSignUtils {
  buildCanonicalString(method: string, resource: string, request: { headers: Record<string, string>; parameters?: unknown }, expires?: string): string;
  getCanonicalRequest(
    method: string,
    request: { headers: Record<string, string>; queries: Record<string, unknown> },
    bucket?: string,
    object?: string,
    additional?: string[],
  ): string;
  getStringToSign(region: string, date: string, canonicalRequest: string): string;
  getSignatureV4(secret: string, date: string, region: string, stringToSign: string): string;
}
// ali-oss's signing helpers have no typings: required as the client itself loads them.
const aliSign = require('ali-oss/lib/common/signUtils') as AliOssSignUtils;

/** Lowercased header map, as Node hands a request's headers to the server. */
const lower = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));

describe('oss server: signature building blocks agree with ali-oss', () => {
  const headers = {
    'Content-MD5': 'jK52eQXfFWqkr8wEOBHG+w==',
    'Content-Type': 'text/plain',
    'x-oss-date': 'Sun, 22 Nov 2026 17:01:16 GMT',
    'X-OSS-Meta-Owner': '  stowage  ',
    'x-oss-meta-a': 'b',
    'User-Agent': 'not signed',
  };

  it('V1: the string to sign for an object with sub-resources (and unsigned list parameters)', () => {
    const query = parseQuery('partNumber=3&uploadId=ABC&prefix=ignored&max-keys=5');
    const ours = stringToSignV1({ method: 'PUT', headers: lower(headers), date: headers['x-oss-date'], bucket: 'bkt', key: 'dir/ü key+x', query });
    const theirs = aliSign.buildCanonicalString('PUT', '/bkt/dir/ü key+x', { headers, parameters: { uploadId: 'ABC', partNumber: 3 } });
    assert.equal(ours, theirs);
  });

  it('V1: bucket and service resources, and valueless sub-resources', () => {
    const bucket = stringToSignV1({
      method: 'GET',
      headers: lower(headers),
      date: headers['x-oss-date'],
      bucket: 'bkt',
      query: parseQuery('uploads=&continuation-token=tok'),
    });
    assert.equal(bucket, aliSign.buildCanonicalString('GET', '/bkt/', { headers, parameters: { uploads: '', 'continuation-token': 'tok' } }));
    const service = stringToSignV1({ method: 'GET', headers: lower(headers), date: headers['x-oss-date'], query: [] });
    assert.equal(service, aliSign.buildCanonicalString('GET', '/', { headers, parameters: {} }));
  });

  it('V4: canonical request with encoded keys, query values, valueless parameters and additional headers', () => {
    const v4Headers = { ...headers, 'x-oss-date': '20261122T170116Z', 'x-oss-content-sha256': 'UNSIGNED-PAYLOAD', range: 'bytes=0-9' };
    const query = parseQuery('uploadId=ABC&partNumber=1&prefix=a%2Fb%20c&encoding-type=url&list-type=2&delimiter=%2F&uploads');
    const ours = canonicalRequestV4({ method: 'PUT', bucket: 'bkt', key: "dir/ü key+(x)!*'", query, headers: lower(v4Headers), additionalHeaders: ['range'] });
    const theirs = aliSign.getCanonicalRequest(
      'PUT',
      {
        headers: lower(v4Headers),
        queries: { uploadId: 'ABC', partNumber: 1, prefix: 'a/b c', 'encoding-type': 'url', 'list-type': 2, delimiter: '/', uploads: null },
      },
      'bkt',
      "dir/ü key+(x)!*'",
      ['range'],
    );
    assert.equal(ours, theirs);
  });

  it('V4: string to sign, signing key and signature', () => {
    const canonical = 'GET\n/bkt/key\n\nx-oss-date:20261122T170116Z\n\n\nUNSIGNED-PAYLOAD';
    const ours = stringToSignV4('20261122T170116Z', '20261122/cn-hangzhou/oss/aliyun_v4_request', canonical);
    assert.equal(ours, aliSign.getStringToSign('cn-hangzhou', '20261122T170116Z', canonical));
    assert.equal(signV4(signingKeyV4('secret', '20261122', 'cn-hangzhou'), ours), aliSign.getSignatureV4('secret', '20261122', 'cn-hangzhou', ours));
  });
});

describe('oss server: addressing', () => {
  it('finds the bucket in the Host header for *.localhost and *.oss-<region>.aliyuncs.com, else in the path', () => {
    assert.equal(bucketFromHost('bkt.localhost:8080'), 'bkt');
    assert.equal(bucketFromHost('bkt.oss-cn-hangzhou.aliyuncs.com'), 'bkt');
    assert.equal(bucketFromHost('bkt.oss-cn-hangzhou-internal.aliyuncs.com'), 'bkt');
    assert.equal(bucketFromHost('oss-cn-hangzhou.aliyuncs.com'), undefined);
    assert.equal(bucketFromHost('localhost:8080'), undefined);
    assert.equal(bucketFromHost('127.0.0.1:8080'), undefined);
    assert.equal(bucketFromHost('[::1]:8080'), undefined);
    assert.deepEqual(resolveTarget('localhost:1', '/bkt/a%20b/c'), { style: 'path', bucket: 'bkt', key: 'a b/c' });
    assert.deepEqual(resolveTarget('localhost:1', '/bkt/'), { style: 'path', bucket: 'bkt', key: undefined });
    assert.deepEqual(resolveTarget('localhost:1', '/'), { style: 'path' });
    assert.deepEqual(resolveTarget('bkt.localhost:1', '/a+b'), { style: 'virtual-hosted', bucket: 'bkt', key: 'a+b' });
  });
});

describe('oss server: Range rules', () => {
  it('follows OSS: invalid ranges mean the whole object unless x-oss-range-behavior is standard', () => {
    const table: [string | undefined, number, boolean, ReturnType<typeof decideRange>][] = [
      [undefined, 10, false, { kind: 'whole' }],
      ['bytes=0-4', 10, false, { kind: 'partial', start: 0, end: 4 }],
      ['bytes=0-4,6-7', 10, false, { kind: 'partial', start: 0, end: 4 }],
      ['bytes=8-', 10, false, { kind: 'partial', start: 8, end: 9 }],
      ['bytes=-2', 10, false, { kind: 'partial', start: 8, end: 9 }],
      ['bytes=0-10', 10, false, { kind: 'whole' }],
      ['bytes=0-10', 10, true, { kind: 'partial', start: 0, end: 9 }],
      ['bytes=10-', 10, false, { kind: 'whole' }],
      ['bytes=10-', 10, true, { kind: 'unsatisfiable' }],
      ['bytes=-20', 10, false, { kind: 'whole' }],
      ['bytes=-20', 10, true, { kind: 'partial', start: 0, end: 9 }],
      ['bytes=5-4', 10, false, { kind: 'whole' }],
      ['bytes=0-0', 0, false, { kind: 'whole' }],
      ['items=0-1', 10, false, { kind: 'whole' }],
    ];
    for (const [header, size, standard, expected] of table) {
      assert.deepEqual(decideRange(header, size, standard), expected, `${header} of ${size}${standard ? ' (standard)' : ''}`);
    }
  });
});

describe('oss server: chunk slicing', () => {
  it('slices across Buffer boundaries without copying', () => {
    const chunks = [Buffer.from('abc'), Buffer.from('defg'), Buffer.from('h')];
    assert.equal(Buffer.concat(sliceChunks(chunks, 2, 7)).toString(), 'cdefg');
    assert.equal(Buffer.concat(sliceChunks(chunks, 0, 8)).toString(), 'abcdefgh');
    assert.equal(Buffer.concat(sliceChunks(chunks, 7, 8)).toString(), 'h');
    assert.deepEqual(sliceChunks(chunks, 3, 3), []);
    const view = sliceChunks(chunks, 4, 6)[0]!;
    assert.equal(view.buffer, chunks[1]!.buffer, 'a view on the stored Buffer');
  });
});

describe('oss server: XML', () => {
  it('parses documents with declarations, comments, CDATA, attributes and entities', () => {
    const root = parseXml(
      '<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><Delete xmlns="x"><Quiet>true</Quiet><Object><Key>a &amp; b &lt;&#x263A;&#65;&gt;</Key></Object><Object><Key><![CDATA[<raw>]]></Key></Object><Empty/></Delete>',
    );
    assert.equal(root.name, 'Delete');
    assert.deepEqual(
      root.children.map((c) => c.name),
      ['Quiet', 'Object', 'Object', 'Empty'],
    );
    assert.equal(root.children[1]!.children[0]!.text, 'a & b <☺A>');
    assert.equal(root.children[2]!.children[0]!.text, '<raw>');
  });

  it('refuses malformed documents', () => {
    for (const bad of ['', '<a>', '<a></b>', '<a>&bogus;</a>', '<a></a><b></b>', 'text', '<a x=1></a>']) {
      assert.throws(() => parseXml(bad), XmlParseError, JSON.stringify(bad));
    }
  });

  it('escapes text when writing', () => {
    assert.equal(
      xmlDocument('R', [
        ['K', `<&>"'`],
        ['Skipped', undefined],
        ['N', [['V', 1]]],
      ]),
      '<?xml version="1.0" encoding="UTF-8"?>\n<R><K>&lt;&amp;&gt;&quot;&apos;</K><N><V>1</V></N></R>',
    );
  });
});
