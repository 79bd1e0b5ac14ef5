/** The middleware README's JavaScript examples run as written (console output captured, not checked). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runInThisContext } from 'node:vm';

const README = resolve(__dirname, '../../../../packages/middleware/README.md');

describe('middleware: README examples', () => {
  const blocks = [...readFileSync(README, 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1]!);

  it('has one example per middleware and one of the config', () => {
    assert.ok(blocks.length >= 7, `${blocks.length} examples`);
  });

  blocks.forEach((code, index) => {
    const title = code.split('\n').find((line) => line.includes('Middleware(') || line.includes('applyMiddleware(')) ?? `example ${index + 1}`;
    it(`runs: ${title.trim().slice(0, 90)}`, async () => {
      const printed: unknown[][] = [];
      const quiet = { log: (...args: unknown[]) => printed.push(args) };
      // The examples use top-level await, as in an ES module or the REPL: run each in an async function.
      const run = runInThisContext(`(async (require, console) => {\n${code}\n})`, { filename: 'README.md' }) as (
        req: NodeJS.Require,
        console: unknown,
      ) => Promise<void>;
      await run(require, quiet);
      assert.ok(printed.length > 0 || !code.includes('console.log'), 'it printed what it says');
    });
  });
});
