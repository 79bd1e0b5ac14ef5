import assert from 'node:assert/strict';
import {
  InvalidPathError,
  ancestors,
  assertValidPath,
  baseName,
  compareWalkOrder,
  isSameOrBelow,
  isValidComponent,
  isValidPath,
  joinPath,
  parentPath,
} from '@stowage/core';

describe('core: paths', () => {
  const valid = [
    '/a',
    '/2',
    '/aa',
    '/a.a',
    '/0-9/abcdefg',
    '/abcdefg/z.75',
    '/abc/1.2.3.4.5-6_zyx/123.z/4',
    '/docker/docker-registry',
    '/123.abc',
    '/abc./abc',
    '/.abc',
    '/a--b',
    '/a-.b',
    '/_.abc',
    '/Docker/docker-registry',
    '/Abc/Cba',
    '/...',
    '/a/..b',
  ];
  const invalid = [
    '',
    '/',
    'abc',
    '123.abc',
    '//bcd',
    '/abc_123/',
    '/.',
    '/..',
    '/a/.',
    '/a/..',
    '/../a',
    '/a/../b',
    '/./a',
    '/a b',
    '/a?b',
    '/ä',
    '/a\\b',
    '/a//b',
    '/a~b',
  ];

  for (const path of valid) it(`accepts ${path}`, () => assert.ok(isValidPath(path)));
  for (const path of invalid) it(`rejects ${JSON.stringify(path)}`, () => assert.ok(!isValidPath(path)));

  it('accepts the root only where allowed', () => {
    assert.ok(isValidPath('/', { allowRoot: true }));
    assert.ok(!isValidPath('/'));
  });

  it('assertValidPath throws InvalidPathError naming driver, path and reason', () => {
    assert.throws(
      () => assertValidPath('filesystem', '/a/../b'),
      (err: unknown) => {
        assert.ok(err instanceof InvalidPathError);
        assert.equal(err.driverName, 'filesystem');
        assert.equal(err.path, '/a/../b');
        assert.match(err.message, /"\." and "\.\."/);
        return true;
      },
    );
    assert.throws(() => assertValidPath('x', undefined), InvalidPathError);
    assert.throws(() => assertValidPath('x', { toString: () => '/a' }), InvalidPathError);
  });

  it('components, parents and joins', () => {
    assert.ok(isValidComponent('a.b-c_d'));
    assert.ok(!isValidComponent('.stowage~staging'));
    assert.ok(!isValidComponent('..'));
    assert.equal(parentPath('/a/b'), '/a');
    assert.equal(parentPath('/a'), '/');
    assert.equal(baseName('/a/b'), 'b');
    assert.equal(joinPath('/', 'a'), '/a');
    assert.equal(joinPath('/a', 'b'), '/a/b');
    assert.deepEqual(ancestors('/a/b/c'), ['/a/b', '/a']);
  });

  it('isSameOrBelow never confuses /ab with /a', () => {
    assert.ok(isSameOrBelow('/a', '/a'));
    assert.ok(isSameOrBelow('/a/b', '/a'));
    assert.ok(!isSameOrBelow('/ab', '/a'));
    assert.ok(!isSameOrBelow('/a-b', '/a'));
    assert.ok(isSameOrBelow('/x', '/'));
  });

  it("walk order puts a directory's subtree before its later siblings", () => {
    const paths = ['/a-b', '/a/x', '/a', '/b', '/a/x/y', '/a.b', '/a/w'];
    assert.deepEqual([...paths].sort(compareWalkOrder), ['/a', '/a/w', '/a/x', '/a/x/y', '/a-b', '/a.b', '/b']);
  });
});
