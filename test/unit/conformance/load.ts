/**
 * The suite's internals (profiles' environment handling, generators, assertions) are not
 * re-exported by @stowage/conformance's root and its `exports` map hides deep paths: load the
 * compiled modules through the package's own directory, with types from the same declarations.
 */
import * as path from 'node:path';
import type * as HelpersModule from '../../../packages/conformance/dist/suite/helpers';
import type * as ProfilesModule from '../../../packages/conformance/dist/suite/profiles';

const packageDir = path.dirname(require.resolve('@stowage/conformance/package.json'));
export const profiles: typeof ProfilesModule = require(path.join(packageDir, 'dist', 'suite', 'profiles'));
export const helpers: typeof HelpersModule = require(path.join(packageDir, 'dist', 'suite', 'helpers'));
