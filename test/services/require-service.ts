/**
 * Starts a test server for a suite, or skips the suite saying why when the server cannot run on
 * this machine (no root to install it, say). With STOWAGE_REQUIRE_SERVICES=1, as .ci/run sets it,
 * an unavailable server fails the suite instead: CI must never pass by skipping.
 */
export async function requireService<T>(context: Mocha.Context, name: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (process.env.STOWAGE_REQUIRE_SERVICES === '1' || !(err instanceof Error && err.name === 'ServiceUnavailableError')) throw err;
    console.log(`      skipped: ${name} is not available here: ${err.message}`);
    context.skip();
  }
}
